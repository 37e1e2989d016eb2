package submit

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/tlsmail/tlsmail/config"
)

// configReads are the configuration files one pass over a queue has read
// (RunPass): each file the pass's items name is read, and its eval lines
// run, once, however many items, batches and log lines need an account of
// it. msmtp runs a file's eval lines once per message it sends; a pass is
// the runner's "now" for the checks of a shared store's items (ItemPolicy:
// "as the file says now"), and the next pass reads the file again, so an
// edit is seen by the next pass. Safe for concurrent use; nothing is kept
// after the pass.
type configReads struct {
	mu    sync.Mutex
	files map[string]*configRead
}

// configRead is one file's read: done is closed when f and err are set.
type configRead struct {
	done chan struct{}
	f    *config.File
	err  error
}

// load returns the file at path as read by read, reading it on the first
// call only; concurrent callers wait for that read. A read that failed
// because ctx ended (a pass being stopped) is not kept: the next caller,
// the log line of an item whose outcome is known say, reads it again.
func (r *configReads) load(ctx context.Context, path string, read func(context.Context) (*config.File, error)) (*config.File, error) {
	key := filepath.Clean(absPath(path))
	for {
		r.mu.Lock()
		if r.files == nil {
			r.files = map[string]*configRead{}
		}
		e, ok := r.files[key]
		if !ok {
			e = &configRead{done: make(chan struct{})}
			r.files[key] = e
			r.mu.Unlock()
			e.f, e.err = read(ctx)
			if e.err != nil && ctx.Err() != nil {
				r.mu.Lock()
				delete(r.files, key)
				r.mu.Unlock()
			}
			close(e.done)
			return e.f, e.err
		}
		r.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
		kept := r.files[key] == e
		r.mu.Unlock()
		if kept {
			return e.f, e.err
		}
		// The reader's ctx ended before the file was read: read it under
		// this caller's.
	}
}
