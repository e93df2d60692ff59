package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"unicode"

	"gitlab.com/platform/bluegreen/internal/redact"
)

// Secret holds a credential. Every way of printing it, including JSON, text
// marshalling, fmt verbs and slog, gives "[redacted]"; only Reveal returns the
// value, and only code that hands it to a client library should call it.
type Secret string

const redacted = redact.Mask

// secretType is Secret's reflect.Type, for Bind.
var secretType = reflect.TypeOf(Secret(""))

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// Format makes every fmt verb, %s %v %q %x and the rest, print "[redacted]".
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", redacted)
		return
	}
	fmt.Fprint(f, redacted)
}

// MarshalText keeps the value out of JSON, YAML and text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// controlProblem says what is wrong with a secret's value, or "" when
// nothing is. A token or a URL never holds a control character: a newline
// in one is a copy-paste accident (the trailing newline of `echo`), or an
// attempt to add a header to every request that sends it, and no client
// sends it as meant. The message never shows the value.
func controlProblem(v string) string {
	if !strings.ContainsFunc(v, unicode.IsControl) {
		return ""
	}
	return "holds a newline or another control character (the value is not shown): set the variable again without it"
}
