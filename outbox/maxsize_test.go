package outbox

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

// TestEnqueueSizeLimit: a producer that never stops (`yes | sendmail -t`)
// used to fill the disk, the temporary file growing without limit. Content
// over the limit is refused with ErrTooLarge as soon as the limit is
// passed, the endless reader is not read to its end, and no item and no
// temporary file is left; content at the limit is stored.
func TestEnqueueSizeLimit(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name    string
		src     func() io.Reader
		tooBig  bool
		stopped bool // the reader was endless: Enqueue must return by itself
	}{
		{"endless", func() io.Reader { return repeatReader('y') }, true, true},
		{"one byte over", func() io.Reader { return io.LimitReader(repeatReader('y'), limit+1) }, true, false},
		{"at the limit", func() io.Reader { return io.LimitReader(repeatReader('y'), limit) }, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Open(testdir.New(t), Options{MaxMessageSize: limit})
			if err != nil {
				t.Fatal(err)
			}
			// Without a limit an endless reader ends only by this
			// deadline (and a cancellation, not ErrTooLarge).
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			id, err := q.EnqueueData(ctx, Envelope{To: []string{"a@b"}}, testSettings.data(), tc.src())
			if !tc.tooBig {
				if err != nil {
					t.Fatalf("Enqueue at the limit = %v", err)
				}
				if it, err := q.Get(id); err != nil || it.Size != limit {
					t.Fatalf("Get = %+v, %v", it, err)
				}
				return
			}
			var oe *Error
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &oe) || oe.Fix == "" || id != "" {
				t.Fatalf("Enqueue = %q, %v; want ErrTooLarge with a fix", id, err)
			}
			if !strings.Contains(err.Error(), "1048576") {
				t.Errorf("the error does not name the limit: %v", err)
			}
			if items, _ := q.List(); len(items) != 0 {
				t.Errorf("%d items were queued", len(items))
			}
			if left, _ := os.ReadDir(q.sub("tmp")); len(left) != 0 {
				t.Errorf("a temporary file was left: %v", left)
			}
		})
	}
}

// TestMaxMessageSizeDefault: zero means the documented default, a negative
// value no limit.
func TestMaxMessageSizeDefault(t *testing.T) {
	for _, tc := range []struct{ opt, want int64 }{{0, DefaultMaxMessageSize}, {-1, -1}, {5, 5}} {
		q := &Queue{opts: Options{MaxMessageSize: tc.opt}}
		if got := q.maxMessageSize(); got != tc.want {
			t.Errorf("MaxMessageSize %d: limit %d, want %d", tc.opt, got, tc.want)
		}
	}
}
