package anystore_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsmail/tlsmail/internal/testdir"
	"github.com/tlsmail/tlsmail/internal/testpg"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/outbox/anystore"
	"github.com/tlsmail/tlsmail/outbox/pgqueue"
)

var pg testpg.Cluster

func TestMain(m *testing.M) {
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

func TestChoose(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.FromSlash(p)) // /a is Z:\a under Wine
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	flag := func(dir, url string) anystore.Source { return anystore.Source{Names: "flags", Dir: dir, URL: url} }
	cfg := func(dir, url string) anystore.Source { return anystore.Source{Names: "config", Dir: dir, URL: url} }
	tests := []struct {
		name    string
		sources []anystore.Source
		want    anystore.Location
		both    string // the Names of a *BothError
	}{
		{"none", []anystore.Source{flag("", ""), cfg("", "")}, anystore.Location{}, ""},
		{"first wins", []anystore.Source{flag("/a", ""), cfg("", "postgres://h/db")}, anystore.Location{Dir: abs("/a")}, ""},
		{"url first", []anystore.Source{flag("", "postgres://h/db"), cfg("/a", "")}, anystore.Location{URL: "postgres://h/db"}, ""},
		{"empty level skipped", []anystore.Source{flag("", ""), cfg("/c", "")}, anystore.Location{Dir: abs("/c")}, ""},
		{"relative made absolute", []anystore.Source{flag("rel", "")}, anystore.Location{Dir: abs("rel")}, ""},
		{"both in one level", []anystore.Source{flag("/a", "postgres://h/db"), cfg("/c", "")}, anystore.Location{}, "flags"},
		{"both below a named level", []anystore.Source{flag("/a", ""), cfg("/c", "postgres://h/db")}, anystore.Location{Dir: abs("/a")}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := anystore.Choose(tc.sources...)
			var be *anystore.BothError
			switch {
			case tc.both != "":
				if !errors.As(err, &be) || be.Names != tc.both || !strings.Contains(err.Error(), "both given") {
					t.Fatalf("Choose = %v, %v; want a BothError for %q", got, err, tc.both)
				}
			case err != nil || got != tc.want:
				t.Fatalf("Choose = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	vars := map[string]string{"TLSMAIL_QUEUE_DIR": "/d", "TLSMAIL_QUEUE_URL": "postgres://h/db"}
	s := anystore.Env(func(k string) string { return vars[k] })
	if s.Dir != "/d" || s.URL != "postgres://h/db" || !strings.Contains(s.Names, "TLSMAIL_QUEUE_URL") {
		t.Fatalf("Env = %+v", s)
	}
	var be *anystore.BothError
	if _, err := anystore.Choose(s); !errors.As(err, &be) {
		t.Fatalf("both variables: %v; want a BothError", err)
	}
}

func TestCheckURLAndRedact(t *testing.T) {
	tests := []struct {
		url     string
		problem anystore.URLProblem // 0: accepted
		shown   string              // RedactURL
	}{
		{"postgres://u@h/db?sslmode=verify-full", 0, "postgres://u@h/db?sslmode=verify-full"},
		{"postgresql://h/db", 0, "postgresql://h/db"},
		{"postgres://u:s3cret@h/db", anystore.URLHasPassword, "postgres://u:xxxxx@h/db"},
		{"postgres://u@h/db?password=s3cret", anystore.URLHasPassword, "postgres://u@h/db?password=xxxxx"},
		{"host=h password=s3cret", anystore.URLHasPassword, "(a PostgreSQL connection string)"},
		// pgx's user part ends at the first '@' before any '/': these
		// passwords hold a '?' or '#' net/url takes for a query or a
		// fragment (before: accepted on the command line).
		{"postgres://u:s3cret?x@h/db", anystore.URLHasPassword, "(a PostgreSQL connection string)"},
		{"postgres://u:s3cret#x@h/db", anystore.URLHasPassword, "(a PostgreSQL connection string)"},
		{"postgres://u:s3cret?x=1@h/db?sslmode=verify-full", anystore.URLHasPassword, "(a PostgreSQL connection string)"},
		{"postgres://u@h/db?pass%77ord=s3cret", anystore.URLHasPassword, "postgres://u@h/db?password=xxxxx"},
		// A client key's passphrase is a secret too (before: accepted,
		// and shown).
		{"postgres://u@h/db?sslpassword=s3cret", anystore.URLHasPassword, "postgres://u@h/db?sslpassword=xxxxx"},
		{"host=h sslpassword=s3cret", anystore.URLHasPassword, "(a PostgreSQL connection string)"},
		{"host=h dbname=x", 0, "(a PostgreSQL connection string)"},
		{"mysql://h/db", anystore.URLNotPostgres, "mysql://h/db"},
	}
	for _, tc := range tests {
		err := anystore.CheckURL(tc.url)
		var ue *anystore.URLError
		if tc.problem == 0 && err != nil || tc.problem != 0 && (!errors.As(err, &ue) || ue.Problem != tc.problem) {
			t.Errorf("CheckURL(%q) = %v; want problem %d", tc.url, err, tc.problem)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cret") || ue.Fix() == "") {
			t.Errorf("CheckURL(%q): %q shows the password or has no fix", tc.url, err)
		}
		if got := anystore.RedactURL(tc.url); got != tc.shown {
			t.Errorf("RedactURL(%q) = %q; want %q", tc.url, got, tc.shown)
		}
	}
}

// TestOpen opens both stores through one call and checks that they are
// the outbox.Store the CLI works on: an item enqueued is walked, and
// Where names the part in the store's own terms.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := testdir.New(t)
	locs := map[string]func(t *testing.T) anystore.Location{
		"dir": func(t *testing.T) anystore.Location { return anystore.Location{Dir: filepath.Join(dir, "spool")} },
		"postgres": func(t *testing.T) anystore.Location {
			url := pg.URL(t)
			if from, err := anystore.Migrate(ctx, url); err != nil || from != 0 && from != pgqueue.SchemaVersion {
				t.Fatalf("Migrate = %d, %v", from, err)
			}
			if from, err := anystore.Migrate(ctx, url); err != nil || from != pgqueue.SchemaVersion {
				t.Fatalf("Migrate again = %d, %v; want %d (up to date)", from, err, pgqueue.SchemaVersion)
			}
			return anystore.Location{URL: url}
		},
	}
	for name, loc := range locs {
		t.Run(name, func(t *testing.T) {
			l := loc(t)
			q, err := anystore.Open(ctx, l, anystore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c, ok := q.(interface{ Close() }); ok {
				t.Cleanup(c.Close)
			}
			id, err := q.EnqueueData(ctx, outbox.Envelope{From: "a@example.org", To: []string{"b@example.org"}},
				outbox.Data{Settings: []byte(`{"k":"` + name + `"}`)}, strings.NewReader("Subject: x\r\n\r\nhi\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			if err := q.Walk(func(it *outbox.Item) error { found = found || it.ID == id; return nil }); err != nil || !found {
				t.Fatalf("Walk: found %v, %v; want the item %s", found, err, id)
			}
			if err := q.WalkFailed(func(it *outbox.Item) error { return errors.New("a failed item in a new outbox") }); err != nil {
				t.Fatal(err)
			}
			failed := q.Where(outbox.PartFailed)
			switch name {
			case "dir":
				if q.Dir() != l.Dir || failed != filepath.Join(l.Dir, "failed") {
					t.Fatalf("Dir %q, Where(failed) %q", q.Dir(), failed)
				}
			case "postgres":
				if strings.Contains(q.Dir(), "password") || !strings.HasPrefix(failed, q.Dir()) ||
					!strings.HasSuffix(failed, "(table tlsmail.failed)") || !strings.HasSuffix(q.Where(outbox.PartQueued), "(table tlsmail.outbox)") {
					t.Fatalf("Dir %q, Where(failed) %q", q.Dir(), failed)
				}
			}
			if err := q.Remove(id); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	var be *anystore.BothError
	if _, err := anystore.Open(ctx, anystore.Location{Dir: "/x", URL: "postgres://h/db"}, anystore.Options{}); !errors.As(err, &be) {
		t.Errorf("both: %v; want a BothError", err)
	}
	// The zero Location (Choose's answer when no source names an
	// outbox) is a typed error that says what to set.
	var ne *anystore.NoLocationError
	if _, err := anystore.Open(ctx, anystore.Location{}, anystore.Options{}); !errors.As(err, &ne) || !strings.Contains(ne.Fix(), "Location.Dir") {
		t.Errorf("no location: %v; want a NoLocationError whose fix names the settings", err)
	}
	var ue *anystore.URLError
	if _, err := anystore.Migrate(ctx, "postgres://h:notaport/db"); !errors.As(err, &ue) || ue.Problem != anystore.URLUnreadable {
		t.Errorf("Migrate(unreadable URL) = %v; want URLUnreadable", err)
	}
	// A database that refuses the connection (it does not exist) is the
	// server's refusal with its fix, not "unavailable, try again". A
	// subtest: pg.URL skips where there is no PostgreSQL (Windows).
	t.Run("no such database", func(t *testing.T) {
		url := pg.URL(t)
		i := strings.LastIndex(url, "/")
		_, err := anystore.Migrate(ctx, url[:i+1]+"nosuch"+url[i+1:])
		var oe *pgqueue.Error
		if !errors.As(err, &oe) || errors.Is(err, pgqueue.ErrUnavailable) || !strings.Contains(oe.Fix, "database name") {
			t.Errorf("Migrate(no such database) = %v; want the refusal naming the database", err)
		}
	})
}

// TestSpoolOnlyNeedsNoDriver: a program that uses only the spool
// directory (outbox, submit) does not link the PostgreSQL driver; only
// this package and pgqueue do.
func TestSpoolOnlyNeedsNoDriver(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the imports")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/tlsmail/tlsmail/submit", "github.com/tlsmail/tlsmail/outbox").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "jackc/pgx") {
		t.Fatal("submit or outbox imports pgx: spool-only programs would link the PostgreSQL driver")
	}
}
