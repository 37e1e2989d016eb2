package outbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tlsmail/tlsmail/internal/testdir"
)

// A next attempt later than now plus the longest backoff was written under
// a wrong clock (Run never writes one): the item is due now, not stranded
// until 2099. One within the backoff still waits.
func TestSkewedNextAttemptIsDue(t *testing.T) {
	for _, tc := range []struct {
		name string
		next time.Time
		due  bool
	}{
		{"2099", time.Date(2099, 1, 1, 0, 5, 0, 0, time.UTC), true},
		{"beyond the longest backoff", t0.Add(time.Hour + time.Minute), true},
		{"within the backoff", t0.Add(50 * time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _, _ := newQueue(t)
			id := enqueue(t, q, testSettings, "Subject: x\r\n\r\nbody\r\n")
			q.writeState(q.sub("msg", id+stateSuffix), state{Attempts: 3, LastAttempt: tc.next.Add(-time.Hour), NextAttempt: tc.next})
			st, err := q.Run(context.Background(), RunConfig{Deliver: deliverWith(func(*Item) Result { return Result{Outcome: Delivered} })})
			if err != nil {
				t.Fatal(err)
			}
			if tc.due && (st.Delivered != 1 || st.NotDue != 0) {
				t.Errorf("stats %+v: want the item delivered now", st)
			}
			if !tc.due && (st.Delivered != 0 || st.NotDue != 1 || !st.Next.Equal(tc.next)) {
				t.Errorf("stats %+v: want the item left for %v", st, tc.next)
			}
		})
	}
}

// An item created under a clock far ahead (2099) still expires: it is
// aged by its failed attempts, never less than the backoff between them.
func TestFutureCreatedItemExpires(t *testing.T) {
	c := &clock{t: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}
	q, err := Open(testdir.New(t), Options{Now: c.Now, MaxAge: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	id := enqueue(t, q, testSettings, "Subject: x\r\n\r\nbody\r\n")
	c.t = t0 // the clock is put right
	fail := deliverWith(func(*Item) Result { return Result{Outcome: Temporary, Err: errors.New("451 later")} })
	for run := 1; run <= 100; run++ {
		st, err := q.Run(context.Background(), RunConfig{Deliver: fail, Rand: func() float64 { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		if st.Expired == 1 {
			it, err := q.Get(id)
			if err != nil || it.FailedAt.IsZero() || it.Attempts < 5 {
				t.Fatalf("expired item: %+v, %v", it, err)
			}
			elapsed := c.Now().Sub(t0)
			if elapsed < 3*time.Hour*8/10 {
				t.Errorf("expired after %v of retries, sooner than the shortest backoff allows for a 3h maximum age", elapsed)
			}
			return
		}
		c.Add(time.Hour) // the longest backoff: every run finds it due
	}
	t.Fatal("an item created in the future never expires")
}

// A damaged item found at delivery is moved to corrupt/ and reported once,
// as corrupt: not also as deferred with a zero next attempt.
func TestCorruptAtDeliveryReportedOnce(t *testing.T) {
	q, _, _ := newQueue(t)
	enqueue(t, q, testSettings, "Subject: x\r\n\r\nbody\r\n")
	var outcomes []Result
	st, err := q.Run(context.Background(), RunConfig{
		Deliver: deliverWith(func(it *Item) Result {
			return Result{Outcome: Temporary, Err: &CorruptError{Path: it.path, Msg: "content does not match its checksum"}}
		}),
		OnResult: func(it *Item, r Result) { outcomes = append(outcomes, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 1 || outcomes[0].Outcome != Corrupt || st.Corrupt != 1 || st.Deferred != 0 || !st.Next.IsZero() {
		t.Errorf("outcomes %+v, stats %+v: want one corrupt outcome and nothing deferred", outcomes, st)
	}
}
