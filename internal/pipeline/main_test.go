package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"gitlab.com/platform/bluegreen/internal/pipeline"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// env holds the cluster and Argo CD this package's flows share.
var env testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// built is the bluegreen binary, built once per test binary.
var built struct {
	once  sync.Once
	tools pipeline.Tools
	modes []string
	err   error
}

// tools returns gitlab-ci-local and a bluegreen freshly built from this
// tree. A missing gitlab-ci-local fails the test with the setup command (or
// skips it, see testenv.SkipAllowed).
func tools(t *testing.T) pipeline.Tools {
	t.Helper()
	gcl, err := pipeline.GitLabCILocal()
	if err != nil {
		var missing *testenv.MissingError
		if errors.As(err, &missing) && testenv.SkipAllowed() {
			t.Skipf("BLUEGREEN_SKIP_REAL=1: %v", err)
		}
		t.Fatal(err)
	}
	built.once.Do(func() {
		root, err := pipeline.ModuleRoot()
		if err != nil {
			built.err = err
			return
		}
		// A fixed folder per checkout, overwritten by each run: a temp dir
		// could not be removed, since TestMain never regains control.
		sum := sha256.Sum256([]byte(root))
		dir := filepath.Join(os.TempDir(), "bluegreen-pipeline-test-"+hex.EncodeToString(sum[:6]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			built.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		bin, err := pipeline.BuildBluegreen(ctx, root, dir)
		if err != nil {
			built.err = err
			return
		}
		t.Logf("built bluegreen in %s", time.Since(start).Round(time.Millisecond))
		built.tools = pipeline.Tools{Bluegreen: bin, GitLabCILocal: gcl, Root: root}
		built.modes, built.err = pipeline.Modes(bin)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.tools
}

// hasMode reports whether the bluegreen under test has mode. Flows that
// need a mode that has not landed yet run without its jobs.
func hasMode(t *testing.T, mode string) bool {
	t.Helper()
	tools(t)
	return slices.Contains(built.modes, mode)
}
