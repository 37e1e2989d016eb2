package config

import "testing"

// dsn_notify and dsn_return are read as msmtp reads them (upper case,
// headers as HDRS, off for none), inherited from defaults and parents, and
// overridden by the command line (-N, -R); they are no longer accepted and
// ignored (issue 14 item 9).
func TestDSNKeys(t *testing.T) {
	text := "defaults\ndsn_return headers\n\naccount a\nhost h\ndsn_notify failure,delay\n\n" +
		"account b : a\ndsn_notify never\ndsn_return full\n\naccount c\nhost h\ndsn_notify off\ndsn_return off\n"
	for _, tc := range []struct{ name, notify, ret string }{
		{"a", "FAILURE,DELAY", "HDRS"},
		{"b", "NEVER", "FULL"},
		{"c", "", ""},
	} {
		a := mustAccount(t, text, tc.name)
		if a.DSNNotify != tc.notify || a.DSNReturn != tc.ret {
			t.Errorf("account %s: notify %q return %q, want %q %q", tc.name, a.DSNNotify, a.DSNReturn, tc.notify, tc.ret)
		}
		if len(a.Ignored) != 0 {
			t.Errorf("account %s: ignored %v", tc.name, a.Ignored)
		}
	}
	a := mustAccount(t, text, "a").Clone()
	for _, kv := range [][3]string{{"dsn_notify", "success", "SUCCESS"}, {"dsn_notify", "off", ""}} {
		if err := a.Override(kv[0], kv[1], ""); err != nil || a.DSNNotify != kv[2] {
			t.Errorf("Override %s %s: %v, notify %q", kv[0], kv[1], err, a.DSNNotify)
		}
	}
	if err := a.Override("dsn_return", "off", ""); err != nil || a.DSNReturn != "" {
		t.Errorf("Override dsn_return off: %v, return %q", err, a.DSNReturn)
	}
	for _, bad := range [][2]string{{"dsn_notify", "FAILURE"}, {"dsn_notify", "never,failure"}, {"dsn_return", "hdrs"}, {"dsn_return", ""}} {
		if err := a.Override(bad[0], bad[1], ""); err == nil {
			t.Errorf("Override %s %q accepted", bad[0], bad[1])
		}
	}
}
