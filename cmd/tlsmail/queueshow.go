package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/tlsmail/tlsmail/outbox"
	"github.com/tlsmail/tlsmail/submit"
)

// kindNotFound is the JSON kind of an item ID the outbox does not hold
// (66, EX_NOINPUT: the input named does not exist).
const kindNotFound = "not_found"

// kindOutput: standard output did not take what queue show wrote (74,
// EX_IOERR).
const kindOutput = "output"

func newQueueShowCommand(e *env, st *runState, qf *queueFlags) *cobra.Command {
	var o submit.ShowOptions
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print a queued or failed message as it is stored (like Postfix's postcat -q)",
		Long: `Print the message of a queued or failed item (an ID as 'queue list' and
'queue list --failed' show it) to standard output exactly as it is stored:
the bytes the server is sent, header and body, as msmtp's queue scripts keep
a .mail file and as 'postcat -bh -q ID' shows a Postfix queue file. It is
streamed, so a message of any size is shown in bounded memory, and can be
saved or piped as it is:

  tlsmail queue show ID > message.eml

--envelope writes before it, as 'postcat -q ID' does, an "*** ENVELOPE ID ***"
section (state, created, size, sender, one recipient line per address,
attempts, the last attempt and its error, the next attempt, or when and why
the item failed), then "*** MESSAGE CONTENTS ID ***", the message and
"*** MESSAGE FILE END ID ***"; the envelope's text is quoted, the message is
not (as cat would, it goes to the terminal as it is).

Exit codes: 0 shown; 66 no item has this ID (delivered messages leave the
outbox); 70 the queued copy is damaged (a spool file, or a database row changed or
lost outside tlsmail: trying again shows the same); 74 standard output did
not take it (a full disk); 75 the outbox could not be read (the database
unreachable, or the item changed while it was read: try again); 78 the item's file is not tlsmail's (a link, a FIFO), refused unread.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st.started = true
			q, err := qf.openRead(cmd.Context(), e)
			if err != nil {
				return err
			}
			id := args[0]
			n, err := submit.WriteItem(e.stdout, q, id, o)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, outbox.ErrNotFound) && n == 0:
				return &exitError{code: exitNoInput, kind: kindNotFound, err: err,
					msg: fmt.Sprintf("%s is not in the outbox %s (neither queued nor failed)", id, q.Dir()),
					fix: "see 'tlsmail queue list --failed' for the IDs (a delivered message has left the outbox); check --queue-dir or --queue-url"}
			case errors.Is(err, outbox.ErrNotFound):
				return &exitError{code: exitNoInput, kind: kindNotFound, err: err,
					msg: fmt.Sprintf("%s left the outbox while it was shown: the %d bytes written are not the whole message", id, n),
					fix: "it was delivered or removed meanwhile; nothing is left to show"}
			}
			var oe *submit.OutputError
			if errors.As(err, &oe) {
				return &exitError{code: exitIOErr, kind: kindOutput, err: err,
					msg: fmt.Sprintf("standard output did not take the message of %s (%d bytes written, not the whole message): %v", id, n, oe.Err),
					fix: "check where standard output goes (a full disk, a closed pipe); the queued item is unchanged"}
			}
			xe := queueError(err)
			if n > 0 {
				xe.msg = fmt.Sprintf("the %d bytes of %s written are not the whole message: %s", n, id, xe.msg)
			}
			var ce *outbox.CorruptError
			switch {
			case errors.As(err, &ce) && ce.Unsafe:
				// Refused unread: a file tlsmail did not write (a link,
				// a FIFO, another user's), as queue run refuses it.
				xe.code = exitConfig
				xe.fix = "the outbox holds a file this user cannot trust (a link, a FIFO, another user's file or one others may write): if the outbox is another user's, show it as that user; else find out who put the file there, and remove it"
			case errors.As(err, &ce):
				// Damaged (outbox.ErrDamaged: exit 70, queueError).
				xe.fix = "the queued copy was damaged on disk: send the message again, remove the item, and check the disk that holds the outbox"
			}
			return xe
		},
	}
	cmd.Flags().BoolVar(&o.Envelope, "envelope", false, "write the sender, recipients, attempts and last error before the message, in postcat's sections")
	return cmd
}
