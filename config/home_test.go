package config

import "testing"

// TestHome: HOME wins; on Windows USERPROFILE stands in when HOME is
// unset; elsewhere an unset HOME is no home.
func TestHome(t *testing.T) {
	tests := []struct {
		name, goos, home, profile, want string
	}{
		{"HOME set", "linux", "/home/ann", "", "/home/ann"},
		{"HOME set on Windows", "windows", `C:\msys\home\ann`, `C:\Users\ann`, `C:\msys\home\ann`},
		{"USERPROFILE on Windows", "windows", "", `C:\Users\ann`, `C:\Users\ann`},
		{"USERPROFILE ignored elsewhere", "linux", "", "/profile", ""},
		{"nothing set", "windows", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HOME": tt.home, "USERPROFILE": tt.profile}
			if got := home(func(k string) string { return env[k] }, tt.goos); got != tt.want {
				t.Errorf("home = %q, want %q", got, tt.want)
			}
		})
	}
	if got := Home(func(k string) string { return map[string]string{"HOME": "/h"}[k] }); got != "/h" {
		t.Errorf("Home = %q, want /h", got)
	}
}
