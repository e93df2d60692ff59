package config

import (
	"context"
	"flag"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// A Binding ties a config struct to a flag set: every field tagged
// `flag:"name"` gets a --name flag that mirrors the field's `env` variable.
// A flag that is set wins over the variable.
type Binding struct {
	fs     *flag.FlagSet
	target any
	opts   []option
	set    map[string]string // env name -> value given by flag
}

type option struct {
	flag, env, help, def string
	isBool               bool
	typ                  reflect.Type
}

// Bind registers a flag on fs for every tagged field of target, which must be
// a pointer to a struct. Nested structs are walked.
func Bind(fs *flag.FlagSet, target any) *Binding {
	b := &Binding{fs: fs, target: target, set: map[string]string{}}
	b.walk(reflect.TypeOf(target).Elem())
	for _, o := range b.opts {
		if o.flag != "" {
			fs.Var(&flagValue{b: b, o: o}, o.flag, o.help)
		}
	}
	return b
}

func (b *Binding) walk(t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			b.walk(f.Type)
			continue
		}
		if f.Tag.Get("env") == "" {
			continue
		}
		env, def := parseEnvTag(f.Tag.Get("env"))
		b.opts = append(b.opts, option{
			flag: f.Tag.Get("flag"), env: env, help: f.Tag.Get("help"), def: def,
			isBool: f.Type.Kind() == reflect.Bool, typ: f.Type,
		})
	}
}

func parseEnvTag(tag string) (name, def string) {
	parts := strings.Split(tag, ",")
	name = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if v, ok := strings.CutPrefix(p, "default="); ok {
			def = v
		}
	}
	return name, def
}

// Load fills the target from flags, then from lookup (the process
// environment in production), then from defaults. A value that cannot be
// parsed gives an error naming the variable.
func (b *Binding) Load(ctx context.Context, lookup func(string) (string, bool)) error {
	env := envconfig.LookuperFunc(func(key string) (string, bool) {
		if lookup == nil {
			return "", false
		}
		return lookup(key)
	})
	all := envconfig.MultiLookuper(envconfig.MapLookuper(b.set), env)
	if err := b.checkTypes(all); err != nil {
		return err
	}
	err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: b.target, Lookuper: all})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

// checkTypes parses every value that is set the way envconfig will, so that
// a bad value is reported with its variable and flag, not a Go field path.
// A secret is checked for control characters instead, and never shown.
func (b *Binding) checkTypes(l envconfig.Lookuper) error {
	var ps Problems
	for _, o := range b.opts {
		v, ok := l.Lookup(o.env)
		if !ok || v == "" {
			continue
		}
		flag := ""
		if o.flag != "" {
			flag = "--" + o.flag
		}
		var err error
		switch {
		case o.typ == secretType:
			if msg := controlProblem(v); msg != "" {
				ps.Add(o.env, flag, "%s", msg)
			}
		case o.typ == reflect.TypeOf(time.Duration(0)):
			_, err = time.ParseDuration(v)
		case o.typ.Kind() == reflect.Bool:
			_, err = strconv.ParseBool(v)
		case o.typ.Kind() >= reflect.Int && o.typ.Kind() <= reflect.Int64:
			_, err = strconv.ParseInt(v, 10, 64)
		case o.typ.Kind() >= reflect.Uint && o.typ.Kind() <= reflect.Uint64:
			_, err = strconv.ParseUint(v, 10, 64)
		case o.typ.Kind() == reflect.Float64:
			_, err = strconv.ParseFloat(v, 64)
		}
		if err != nil {
			ps.Add(o.env, flag, "%q is not a valid %s", v, kindName(o.typ))
		}
	}
	return ps.Err()
}

func kindName(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return "duration (e.g. 90s, 10m)"
	case t.Kind() == reflect.Bool:
		return "boolean (true or false)"
	case t.Kind() == reflect.Float64:
		return "number"
	}
	return "whole number"
}

// PrintFlags writes one line per flag: the flag, the variable it mirrors, its
// default and its help text.
func (b *Binding) PrintFlags(w io.Writer) {
	var opts []option
	for _, o := range b.opts {
		if o.flag != "" {
			opts = append(opts, o)
		}
	}
	sort.SliceStable(opts, func(i, j int) bool { return opts[i].flag < opts[j].flag })
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, o := range opts {
		help := o.help
		if o.def != "" {
			help += fmt.Sprintf(" (default %s)", o.def)
		}
		arg := " value"
		if o.isBool {
			arg = ""
		}
		fmt.Fprintf(tw, "  --%s%s\t$%s\t%s\n", o.flag, arg, o.env, help)
	}
	tw.Flush()
}

// SecretVars lists the BG_* variables that hold secrets. They have no flags,
// since a flag shows in `ps` and in shell history.
func (b *Binding) SecretVars() []string {
	var out []string
	for _, o := range b.opts {
		if o.typ == secretType && strings.HasPrefix(o.env, "BG_") {
			out = append(out, o.env)
		}
	}
	sort.Strings(out)
	return out
}

// Secrets returns the values of the target's secrets that are set, for a
// scrubber of text that might quote one (redact.Scrubber). Call it after
// Load.
func (b *Binding) Secrets() []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			switch {
			case !f.CanInterface():
			case f.Type() == secretType:
				if s := f.Interface().(Secret); s.IsSet() {
					out = append(out, s.Reveal())
				}
			case f.Kind() == reflect.Struct:
				walk(f)
			}
		}
	}
	walk(reflect.ValueOf(b.target).Elem())
	return out
}

// FlagFor returns "--flag" for an environment variable name, for error
// messages; "" when the variable has no flag.
func (b *Binding) FlagFor(env string) string {
	for _, o := range b.opts {
		if o.env == env && o.flag != "" {
			return "--" + o.flag
		}
	}
	return ""
}

type flagValue struct {
	b *Binding
	o option
}

func (v *flagValue) String() string {
	if v == nil || v.b == nil {
		return ""
	}
	return v.b.set[v.o.env]
}

func (v *flagValue) Set(s string) error {
	v.b.set[v.o.env] = s
	return nil
}

func (v *flagValue) IsBoolFlag() bool { return v.o.isBool }
