// Package outcome classifies errors by what they mean for a pipeline job, so
// that the CLI can map every error to an exit code in exactly one place.
//
// Stages wrap their errors with one of the constructors below. An error that
// carries no class is treated as an external failure (exit 3): retrying is the
// safe default when nothing better is known.
package outcome

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Kind is what an error means for the job.
type Kind int

// The kinds, in the order of DESIGN.md §6. Their values are the exit codes.
const (
	OK       Kind = 0 // the stage did what it was asked
	Negative Kind = 1 // the deployment's verdict is negative: check failed, approval refused, drift found
	Usage    Kind = 2 // bad input or configuration; nothing was changed
	External Kind = 3 // an external system failed or timed out; retryable
	Locked   Kind = 4 // the environment is locked by another pipeline
)

// CodeCrash is the exit code of a run that ended in a panic: a bug in
// bluegreen, not a verdict on the deployment or the input (EX_SOFTWARE in
// sysexits.h). It is no Kind, since no error carries it: the CLI returns it
// when it recovers a panic. It stays clear of 2, the status Go gives a
// panic it does not recover, which here would claim "bad input, nothing
// changed" after a crash that may have left a stage half done.
const CodeCrash = 70

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case OK:
		return "ok"
	case Negative:
		return "negative"
	case Usage:
		return "usage"
	case External:
		return "external"
	case Locked:
		return "locked"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is an error with a kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// Negativef returns an error for a negative verdict (exit 1).
func Negativef(format string, a ...any) error { return wrap(Negative, fmt.Errorf(format, a...)) }

// Usagef returns an error for bad input (exit 2).
func Usagef(format string, a ...any) error { return wrap(Usage, fmt.Errorf(format, a...)) }

// Externalf returns an error for a failed external system (exit 3).
func Externalf(format string, a ...any) error { return wrap(External, fmt.Errorf(format, a...)) }

// Lockedf returns an error for a lock held by someone else (exit 4).
func Lockedf(format string, a ...any) error { return wrap(Locked, fmt.Errorf(format, a...)) }

// As gives err the kind k, keeping any kind it already has.
func As(k Kind, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return wrap(k, err)
}

// KindOf reports the kind of err: OK for nil, External when unclassified.
func KindOf(err error) Kind {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return External
}

// localFaults are the errors of a local path that only the job's own
// settings can cure (a --out that is a file, a name too long for the file
// system, a read-only or forbidden folder): retrying the job cannot help.
// EEXIST is os.Rename's answer when the destination is a folder. A full
// disk is not among them; another runner may have room.
var localFaults = []error{
	syscall.ENAMETOOLONG, syscall.ENOTDIR, syscall.EISDIR, syscall.EEXIST, syscall.ELOOP,
	syscall.EROFS, syscall.EACCES, syscall.EPERM,
}

// Local classifies err from writing or reading a local file: a usage error
// (exit 2) when the path itself is at fault (see localFaults), else an
// external failure (exit 3). An error that already has a kind keeps it.
func Local(err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	var le *os.LinkError
	if errors.As(err, &pe) || errors.As(err, &le) {
		for _, fault := range localFaults {
			if errors.Is(err, fault) {
				return As(Usage, err)
			}
		}
	}
	return As(External, err)
}

// Code is the process exit code for err.
func Code(err error) int { return int(KindOf(err)) }
