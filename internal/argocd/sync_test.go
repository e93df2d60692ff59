package argocd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/argocd/argocdtest"
)

const other = "fedcba9876543210fedcba9876543210fedcba98"

// newBusyFake returns a client whose Busy reports are collected, and an app
// with a sync at other running.
func newBusyFake(t *testing.T, polls int) (*argocdtest.Server, *argocd.Client, *[]string) {
	t.Helper()
	srv := argocdtest.NewServer(t, "s3cret")
	srv.AddApp("checkout", argocdtest.Outcome{Polls: polls})
	var busy []string
	opts := srv.Options()
	opts.Busy = func(app string, st argocd.Status) { busy = append(busy, app+": "+st.String()) }
	c, err := argocd.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Sync(context.Background(), "checkout", other); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), "checkout"); err != nil { // the controller picks it up
		t.Fatal(err)
	}
	return srv, c, &busy
}

func TestSync_AtTheRunningRevisionJoinsIt(t *testing.T) {
	t.Parallel()
	srv, c, busy := newBusyFake(t, 100)
	if err := c.Sync(context.Background(), "checkout", other); err != nil {
		t.Fatalf("sync at the revision already running: %v, want nil", err)
	}
	if got := srv.Syncs(); len(got) != 1 {
		t.Errorf("syncs = %v, want only the first", got)
	}
	if len(*busy) != 0 {
		t.Errorf("busy reports = %q, want none: nothing was waited for", *busy)
	}
}

func TestSync_WaitsForAnotherRevisionsOperation(t *testing.T) {
	t.Parallel()
	srv, c, busy := newBusyFake(t, 4)
	if err := c.Sync(context.Background(), "checkout", rev); err != nil {
		t.Fatalf("sync while another revision's sync runs: %v, want it to wait and start", err)
	}
	want := []argocdtest.SyncCall{{App: "checkout", Revision: other}, {App: "checkout", Revision: rev}}
	if got := srv.Syncs(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("syncs = %v, want %v", got, want)
	}
	if len(*busy) == 0 || !strings.Contains((*busy)[0], "checkout: ") || !strings.Contains((*busy)[0], "Running") ||
		!strings.Contains((*busy)[0], other[:7]) {
		t.Errorf("busy reports = %q, want the running sync at %s", *busy, other[:7])
	}
	st, err := c.Wait(context.Background(), "checkout", rev, nil)
	if err != nil || !st.Done(rev) {
		t.Errorf("wait after the queued sync: %s, %v", st, err)
	}
}

func TestSync_WaitForAnotherOperationEndsWithTheContext(t *testing.T) {
	t.Parallel()
	srv, c, _ := newBusyFake(t, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := c.Sync(ctx, "checkout", rev)
	if status.Code(err) != codes.FailedPrecondition || ctx.Err() == nil {
		t.Fatalf("err = %v, want the refusal once the deadline passed", err)
	}
	if !strings.Contains(err.Error(), "another operation") || !strings.Contains(err.Error(), "waited for it") {
		t.Errorf("err = %v, want it to say what it waited for", err)
	}
	if got := srv.Syncs(); len(got) != 1 {
		t.Errorf("syncs = %v, want only the first", got)
	}
}

func TestSync_RetriesARefusalWhoseOperationHasEnded(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{})
	srv.FailNext(codes.FailedPrecondition) // the sync that was in flight ends before the read
	if err := c.Sync(context.Background(), "checkout", rev); err != nil {
		t.Fatalf("sync after a refusal with nothing in flight: %v", err)
	}
	if got := srv.Syncs(); len(got) != 1 || got[0].Revision != rev {
		t.Errorf("syncs = %v, want one at %s", got, rev)
	}
}

func TestSync_GivesUpOnARefusalWithNothingInFlight(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, argocdtest.Outcome{})
	for range 4 {
		srv.FailNext(codes.FailedPrecondition, codes.OK)
	}
	err := c.Sync(context.Background(), "checkout", rev)
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("err = %v, want FailedPrecondition", err)
	}
	if got := srv.Syncs(); len(got) != 0 {
		t.Errorf("syncs = %v, want none", got)
	}
}
