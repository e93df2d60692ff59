// Package cli is bluegreen's command line: one subcommand per mode. It is the
// only package that reads the environment (through the lookup function it is
// given), builds real clients, and turns errors into exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"gitlab.com/platform/bluegreen/internal/config"
	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/redact"
)

// version is stamped at build time with -ldflags "-X ...cli.version=v1.2.3".
var version = "dev"

// Env is what a command may touch of the outside world.
type Env struct {
	Lookup func(string) (string, bool) // the process environment
	Stdout io.Writer                   // human progress lines
	Stderr io.Writer                   // structured logs and errors
	Now    func() time.Time

	// scrub masks credentials in text bound for people: URL credentials
	// (redact.Text) and, once a mode's configuration is loaded, its
	// secrets' values.
	scrub func(string) string
}

// scrubText masks the credentials in s (see Env.scrub).
func (e *Env) scrubText(s string) string {
	if e.scrub == nil {
		return redact.Text(s)
	}
	return e.scrub(s)
}

// command is one mode of the binary.
type command struct {
	name    string
	summary string // one line for `bluegreen --help`
	about   string // a paragraph for `bluegreen <mode> --help`
	// newConfig returns a pointer to the mode's config struct, whose tagged
	// fields become flags. nil means the command takes no flags.
	newConfig func() validator
	run       func(ctx context.Context, env *Env, log *slog.Logger, cfg any) error
}

type validator interface{ Validate() error }

func commands() []*command {
	return []*command{
		renderCommand(),
		syncCommand(),
		approveCommand(),
		verifyCommand(),
		promoteCommand(),
		rollbackCommand(),
		monitorCommand(),
		driftCommand(),
		doctorCommand(),
		initCommand(),
		versionCommand(),
	}
}

// Main runs bluegreen with args (without the program name) and returns the
// process exit code: 0 done, 1 negative verdict, 2 usage or configuration
// error, 3 external failure, 4 locked (DESIGN.md §6), and 70
// (outcome.CodeCrash) when a mode panicked. The error line on stderr has
// its credentials masked.
func Main(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	return mainWith(ctx, commands(), args, lookup, stdout, stderr)
}

// mainWith is Main with the modes given, so that a test can add one.
func mainWith(ctx context.Context, cmds []*command, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) (code int) {
	env := &Env{Lookup: lookup, Stdout: stdout, Stderr: stderr, Now: time.Now, scrub: redact.Text}
	defer func() {
		// Go exits 2 on a panic it does not recover, and 2 here means
		// "bad input, nothing changed": a crash must never say that.
		if v := recover(); v != nil {
			code = crashed(env, v)
		}
	}()
	err := run(ctx, env, cmds, args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "bluegreen: %s\n", env.scrubText(err.Error()))
	return outcome.Code(err)
}

// crashed reports a recovered panic on stderr, its value on one line and
// then the stack, both masked, and returns outcome.CodeCrash.
func crashed(env *Env, v any) int {
	msg := env.scrubText(fmt.Sprint(v))
	if strings.ContainsFunc(msg, unicode.IsControl) {
		msg = strconv.Quote(msg)
	}
	fmt.Fprintf(env.Stderr, "bluegreen: internal error (a bug in bluegreen, please report it): %s\n%s", msg, env.scrubText(string(debug.Stack())))
	return outcome.CodeCrash
}

func run(ctx context.Context, env *Env, cmds []*command, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			return run(ctx, env, cmds, []string{args[1], "--help"})
		}
		printUsage(env.Stdout, cmds)
		return nil
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.execute(ctx, env, args[1:])
		}
	}
	printUsage(env.Stderr, cmds)
	return outcome.Usagef("unknown mode %q", args[0])
}

func printUsage(w io.Writer, cmds []*command) {
	fmt.Fprint(w, "bluegreen takes a Kubernetes service through a blue/green release, one GitLab CI job per mode.\n\n")
	fmt.Fprint(w, "Usage: bluegreen <mode> [flags]\n\nModes:\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, "\nEvery flag mirrors a BG_* variable; a flag wins over its variable. `bluegreen <mode> --help` lists them.\n")
	fmt.Fprint(w, "Exit codes: 0 done, 1 negative verdict, 2 usage or configuration error (nothing changed), 3 external system failed (retryable), 4 environment locked, 70 internal error (a bug in bluegreen).\n")
}

func (c *command) execute(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("bluegreen "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg validator
	var bind *config.Binding
	if c.newConfig != nil {
		cfg = c.newConfig()
		bind = config.Bind(fs, cfg)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printHelp(env.Stdout, bind)
			return err
		}
		return outcome.Usagef("%s: %v (see `bluegreen %s --help`)", c.name, err, c.name)
	}
	if fs.NArg() > 0 {
		return outcome.Usagef("%s: unexpected argument %q (see `bluegreen %s --help`)", c.name, fs.Arg(0), c.name)
	}
	verbose := false
	if bind != nil {
		err := bind.Load(ctx, env.Lookup)
		env.scrub = redact.Scrubber(bind.Secrets()...)
		if err != nil {
			return outcome.As(outcome.Usage, err)
		}
		if err := cfg.Validate(); err != nil {
			return outcome.As(outcome.Usage, err)
		}
		if v, ok := cfg.(interface{ IsVerbose() bool }); ok {
			verbose = v.IsVerbose()
		}
	}
	log := newLogger(env.Stderr, verbose).With("mode", c.name)
	return c.run(ctx, env, log, cfg)
}

func (c *command) printHelp(w io.Writer, bind *config.Binding) {
	fmt.Fprintf(w, "Usage: bluegreen %s [flags]\n\n%s\n", c.name, c.summary)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.about))
	}
	if bind != nil {
		fmt.Fprint(w, "\nFlags (each mirrors the variable beside it):\n")
		bind.PrintFlags(w)
		if secrets := bind.SecretVars(); len(secrets) > 0 {
			fmt.Fprintf(w, "\nSecrets, read only from variables (set them as masked CI/CD variables):\n  %s\n", strings.Join(secrets, ", "))
		}
	}
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version of this binary",
		run: func(_ context.Context, env *Env, _ *slog.Logger, _ any) error {
			fmt.Fprintf(env.Stdout, "bluegreen %s\n", version)
			return nil
		},
	}
}
