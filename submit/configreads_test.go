package submit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tlsmail/tlsmail/config"
)

// TestConfigReadsOnce: the files of a pass are read once whatever the
// number of concurrent callers (the batches' checks and logins, the items'
// log lines), per file; a read cut short by its caller's context is not
// kept, so the next caller (an item's log line, written with a context of
// its own) reads the file again instead of getting the cancellation.
func TestConfigReadsOnce(t *testing.T) {
	var r configReads
	var reads atomic.Int64
	read := func(context.Context) (*config.File, error) {
		reads.Add(1)
		return &config.File{Path: "a"}, nil
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f, err := r.load(context.Background(), "/etc/../etc/msmtprc", read); err != nil || f.Path != "a" {
				t.Errorf("load = %v, %v", f, err)
			}
		}()
	}
	wg.Wait()
	r.load(context.Background(), "/etc/msmtprc", read)
	if n := reads.Load(); n != 1 {
		t.Errorf("the file was read %d times; want once", n)
	}
	r.load(context.Background(), "/etc/other", read)
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads for two files; want 2", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.load(ctx, "/cut", func(ctx context.Context) (*config.File, error) { return nil, ctx.Err() }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled read: %v", err)
	}
	f, err := r.load(context.Background(), "/cut", read)
	if err != nil || f == nil {
		t.Errorf("after a cancelled read the file was not read again: %v, %v", f, err)
	}
}
