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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
