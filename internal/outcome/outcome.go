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

// Code is the process exit code for err.
func Code(err error) int { return int(KindOf(err)) }
