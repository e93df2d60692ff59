package testenv_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"gitlab.com/platform/bluegreen/internal/testenv"
)

func TestStartCluster_MissingBinaryNamesSetupCommand(t *testing.T) {
	t.Setenv("BLUEGREEN_CACHE", t.TempDir())
	_, err := testenv.StartCluster(context.Background())
	var missing *testenv.MissingError
	if !errors.As(err, &missing) {
		t.Fatalf("err = %v, want a *MissingError", err)
	}
	if !strings.Contains(err.Error(), testenv.SetupCommand) {
		t.Errorf("err = %q, want it to name %s", err, testenv.SetupCommand)
	}
}

// recorder is a testing.TB that records how a helper ended the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Logf(string, ...any)   {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true; runtime.Goexit() }
func (r *recorder) Fatal(...any)          { r.failed = true; runtime.Goexit() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
func (r *recorder) run(f func(testing.TB)) *recorder {
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	return r
}

func TestEnv_MissingBinarySkipsOnlyOutsideCIWhenAsked(t *testing.T) {
	t.Setenv("BLUEGREEN_CACHE", t.TempDir())
	for _, tc := range []struct {
		ci, skipReal string
		wantSkip     bool
	}{
		{ci: "", skipReal: "1", wantSkip: true},
		{ci: "", skipReal: "", wantSkip: false},
		{ci: "true", skipReal: "1", wantSkip: false},
	} {
		t.Setenv("CI", tc.ci)
		t.Setenv("BLUEGREEN_SKIP_REAL", tc.skipReal)
		var e testenv.Env
		r := (&recorder{TB: t}).run(func(tb testing.TB) { e.Cluster(tb) })
		if r.skipped != tc.wantSkip || r.failed == tc.wantSkip {
			t.Errorf("CI=%q BLUEGREEN_SKIP_REAL=%q: skipped %v failed %v, want skip %v",
				tc.ci, tc.skipReal, r.skipped, r.failed, tc.wantSkip)
		}
	}
}
