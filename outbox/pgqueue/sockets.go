package pgqueue

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// closeGrace is how long an abandoned connection (see sockets) is given
// to end by itself before its socket is shut, and how long Close waits
// for the connections' goodbyes before it shuts the sockets left.
const closeGrace = time.Second

// sockets is the set of a Queue's open network connections (the pool's,
// Listen's, commitLost's, and the cancel requests pgconn sends on
// connections of their own): the Queue dials through it (dial), so that
// it can shut a connection's socket where pgx would wait on a peer that
// is gone.
//
// pgx does not wait for the socket of a connection it gives up on (an
// operation cancelled or timed out, the server's answer unread): pgconn
// marks it closed and, in the background, sends the server a cancel
// request on a new connection, a Terminate, and reads the connection
// until the server closes it, for up to 15 s, so that the socket is not
// reset under unread data. The pool's Close waits for that, and so does
// the pool's slot of the connection (MaxConns). When the peer vanished
// without a FIN or RST (a host or network failure, a NAT or firewall
// that dropped the flow), nothing comes and the whole 15 s pass: a
// program that closed its Queue after an operation timed out (a service
// embedding a Worker, being stopped) waited 15 s in Close. A deadline set
// on the connection does not hold (pgconn sets its own when its
// background close begins), and a Close that merely stopped waiting would
// leave the sockets and pgx's goroutines behind it. So:
//   - a connection the pool destroys that pgx had already given up on
//     (abandon, from the pool's BeforeClose) has its socket shut after
//     closeGrace (a live server's answer to the cancel and the Terminate
//     takes milliseconds); a healthy one is closed as pgx closes it, with
//     a Terminate;
//   - Close (shutdown), once the pool's Close has taken closeGrace, ends
//     every dial under way (but commitLost's, pastClose), refuses new
//     ones, and shuts the sockets pgx holds no live connection on: the
//     cancel requests (to a host that is gone) and the abandoned
//     connections. A live connection's socket (held, see hold) is never
//     shut from here: an operation under way on it (a COMMIT the server
//     is making) ends as the server answers, or as its own bound makes
//     pgx give it up, and the pool's Close waits for it, as pgxpool's
//     does. Shutting it would turn a COMMIT the server made into "the
//     message may be queued".
//
// Closing a socket a goroutine of pgx is reading makes the read fail at
// once, which ends pgconn's background close: no goroutine and no socket
// is left behind. (One wait is left to pgx's own bound while the Queue is
// open: the cancel request of an abandoned connection, on a connection of
// its own to a host that is gone, is not told apart from the pool's other
// dials, and holds the abandoned connection's place in the pool for up to
// 15 s; Close ends it.)
type sockets struct {
	// shut is done once shutdown has been called (cancelShut): dials
	// under way end, new ones fail.
	shut       context.Context
	cancelShut context.CancelFunc
	mu         sync.Mutex
	open       map[*socket]struct{}
}

func newSockets() *sockets {
	shut, cancel := context.WithCancel(context.Background())
	return &sockets{shut: shut, cancelShut: cancel, open: map[*socket]struct{}{}}
}

// dial is base, whose connections are in s, and which fails once s is
// shut down, unless ctx is pastClose's.
func (s *sockets) dial(base pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		refuse := ctx.Value(pastCloseKey{}) == nil
		if refuse {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(s.shut, cancel)
			defer stop()
		}
		c, err := base(ctx, network, addr)
		if err != nil {
			if refuse && s.isShut() {
				return nil, ErrClosed
			}
			return nil, err
		}
		sc := &socket{Conn: c, s: s}
		s.mu.Lock()
		defer s.mu.Unlock()
		if refuse && s.isShut() {
			c.Close()
			return nil, ErrClosed
		}
		s.open[sc] = struct{}{}
		return sc, nil
	}
}

// pastClose is ctx, whose connections Close does not refuse or end: an
// operation begun before Close that must still ask the database
// something on a connection of its own (commitLost: whether a COMMIT
// whose answer was lost made it), bounded by ctx.
func pastClose(ctx context.Context) context.Context {
	return context.WithValue(ctx, pastCloseKey{}, true)
}

type pastCloseKey struct{}

func (s *sockets) isShut() bool { return s.shut.Err() != nil }

// shutdown ends the dials under way, refuses new ones, and shuts the
// sockets open that carry no live connection: those never held (a cancel
// request, a connection not yet made) and those abandoned.
func (s *sockets) shutdown() {
	s.cancelShut()
	s.mu.Lock()
	var shut []*socket
	for sc := range s.open {
		if !sc.held || sc.abandoned {
			shut = append(shut, sc)
		}
	}
	s.mu.Unlock()
	for _, sc := range shut {
		sc.Close()
	}
}

// hold is pgconn's AfterNetConnect (chained after next, when set): it
// marks the socket under conn as carrying a connection pgx makes and
// closes itself (the pool's, Listen's, commitLost's), which shutdown
// leaves alone until abandon. A cancel request's socket is not held
// (pgconn dials it without AfterNetConnect).
func (s *sockets) hold(next func(context.Context, *pgconn.Config, net.Conn) (net.Conn, error)) func(context.Context, *pgconn.Config, net.Conn) (net.Conn, error) {
	return func(ctx context.Context, cfg *pgconn.Config, c net.Conn) (net.Conn, error) {
		if sc := socketOf(c); sc != nil {
			s.mu.Lock()
			sc.held = true
			s.mu.Unlock()
		}
		if next != nil {
			return next(ctx, cfg, c)
		}
		return c, nil
	}
}

// abandon shuts conn's socket after closeGrace if pgx has already given
// up on conn (it is closed: pgconn's background close is under way);
// otherwise it does nothing, and conn is closed politely by its owner.
func abandon(conn *pgx.Conn) {
	if !conn.IsClosed() {
		return
	}
	if sc := socketOf(conn.PgConn().Conn()); sc != nil {
		sc.s.mu.Lock()
		sc.abandoned = true
		sc.s.mu.Unlock()
		time.AfterFunc(closeGrace, func() { sc.Close() })
	}
}

// socketOf is the socket under c: c itself, or the one under the TLS
// connection (*tls.Conn) pgconn made over it; nil for a connection not
// dialled through sockets.
func socketOf(c net.Conn) *socket {
	for {
		if sc, ok := c.(*socket); ok {
			return sc
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
}

// socket is a connection in sockets.
type socket struct {
	net.Conn
	s *sockets
	// held and abandoned (guarded by s.mu): a connection pgx made is
	// over it (hold), and pgx has given that connection up (abandon).
	held, abandoned bool
	once            sync.Once
	err             error
}

// Close closes the connection once (pgx, abandon and shutdown may each
// close it) and takes it out of its set.
func (c *socket) Close() error {
	c.once.Do(func() {
		c.err = c.Conn.Close()
		c.s.mu.Lock()
		delete(c.s.open, c)
		c.s.mu.Unlock()
	})
	return c.err
}
