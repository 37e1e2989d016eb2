package submit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tlsmail/tlsmail/internal/safetext"
	"github.com/tlsmail/tlsmail/outbox"
)

// listRows is how many rows of a text listing are aligned together: the
// table is written as it is read, a block at a time, so that an outbox of
// any size lists in bounded memory.
const listRows = 256

// WriteQueued writes the queued items of q as a table, streamed: ID, size,
// attempts, next attempt ("now" when due), sender, recipients and last
// error, at most limit rows (0: all), or a line saying the outbox is empty.
// Sender, recipients and errors came from a sender's input or a server's
// reply: they are quoted (safetext.Quote), one line each. It returns how
// many items it wrote; the error is the outbox's or w's.
func WriteQueued(w io.Writer, q outbox.Store, limit int) (int, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	now := time.Now()
	rows := 0
	shown, err := walkLimit(q.Walk, limit, func(it *outbox.Item) error {
		if rows == 0 {
			fmt.Fprintln(tw, "ID\tSIZE\tATTEMPTS\tNEXT ATTEMPT\tFROM\tRECIPIENTS\tLAST ERROR")
		}
		next := "now"
		if it.NextAttempt.After(now) {
			next = it.NextAttempt.Local().Format(time.DateTime)
		}
		from := it.Envelope.From
		if from == "" {
			from = "<>"
		}
		// The ID too: on a shared store, the row's writer chose it.
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\n", safetext.OneLine(it.ID), it.Size, it.Attempts, next,
			safetext.OneLine(from), safetext.OneLine(strings.Join(it.Envelope.To, ",")), safetext.OneLine(it.LastError))
		if rows++; rows%listRows == 0 {
			tw.Flush()
		}
		return nil
	})
	tw.Flush()
	if err == nil && shown == 0 {
		fmt.Fprintf(bw, "The outbox %s is empty.\n", q.Dir())
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return shown, err
}

// WriteFailed writes the failed items of q, streamed, one line each (ID,
// when it failed, recipients, reason), under a heading naming where they
// are (Store.Where), at most limit of them (0: all); nothing when there
// are none. It returns how many it wrote.
func WriteFailed(w io.Writer, q outbox.Store, limit int) (int, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	headed := false
	shown, err := walkLimit(q.WalkFailed, limit, func(it *outbox.Item) error {
		if !headed {
			fmt.Fprintf(bw, "\nFailed (in %s):\n", q.Where(outbox.PartFailed))
			headed = true
		}
		to := safetext.OneLine(strings.Join(it.Envelope.To, ","))
		if it.EnvelopeError != "" {
			to = "(envelope unreadable)" // the reason says why
		}
		fmt.Fprintf(bw, "%s  %s  %s  %s\n", safetext.OneLine(it.ID), it.FailedAt.Local().Format(time.DateTime), to, safetext.OneLine(it.Reason))
		return nil
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return shown, err
}

// WriteListJSON writes the items of q as one JSON object, streamed one item
// at a time: {"ok": true, "dir", "queued": [ItemInfo...], "failed":
// [ItemInfo...]}, at most limit items in each list (0: all).
func WriteListJSON(w io.Writer, q outbox.Store, limit int) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	dir, _ := json.Marshal(q.Dir())
	fmt.Fprintf(bw, "{\n  \"ok\": true,\n  \"dir\": %s,\n", dir)
	list := func(name string, walk func(func(*outbox.Item) error) error) error {
		fmt.Fprintf(bw, "  %q: [", name)
		n := 0
		_, err := walkLimit(walk, limit, func(it *outbox.Item) error {
			b, err := json.Marshal(Describe(it))
			if err != nil {
				return err
			}
			if n > 0 {
				bw.WriteByte(',')
			}
			n++
			bw.WriteString("\n    ")
			bw.Write(b)
			return nil
		})
		if n > 0 {
			bw.WriteString("\n  ")
		}
		bw.WriteString("]")
		return err
	}
	err := list("queued", q.Walk)
	if err == nil {
		bw.WriteString(",\n")
		err = list("failed", q.WalkFailed)
	}
	if err == nil {
		bw.WriteString("\n}\n")
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// errLimit stops a walk at its limit.
var errLimit = errors.New("limit reached")

// walkLimit walks with walk, stopping after limit items (0: none).
func walkLimit(walk func(func(*outbox.Item) error) error, limit int, fn func(*outbox.Item) error) (shown int, err error) {
	err = walk(func(it *outbox.Item) error {
		if limit > 0 && shown >= limit {
			return errLimit
		}
		shown++
		return fn(it)
	})
	if errors.Is(err, errLimit) {
		err = nil
	}
	return shown, err
}
