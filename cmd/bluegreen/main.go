// Command bluegreen takes a Kubernetes service through a blue/green release
// from GitLab CI. Run `bluegreen --help` for its modes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"gitlab.com/platform/bluegreen/internal/cli"
)

// main leaves the exit code to cli.Main, which also recovers a panic in a
// mode and returns 70 (outcome.CodeCrash) rather than Go's crash status 2,
// which here would claim "bad input, nothing changed".
//
// What cli.Main cannot recover is a panic in another goroutine, or a fatal
// runtime error (concurrent map writes, out of memory): Go prints the
// stack and exits 2, and no Go API changes that status. debug.SetCrashOutput
// only copies the report to a file. Only GOTRACEBACK=crash changes how the
// process ends (by SIGABRT; a shell reports 134), at the price of a core
// dump that may hold the job's tokens, so bluegreen does not set it. A
// goroutine that bluegreen starts must therefore hand a panic back to the
// goroutine that waits for it.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
