package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// asCLI makes the test binary act as the bluegreen binary in a child
// process, so that a test can SIGKILL a real run without building anything.
const asCLI = "BLUEGREEN_TEST_AS_CLI"

// startCLI starts this test binary as `bluegreen args...` with env.
func startCLI(t *testing.T, env map[string]string, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), asCLI+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// consistent checks the invariant a kill must never break: the active
// Service selects exactly one colour, and that colour has Ready pods.
func consistent(ctx context.Context, w *world) (string, error) {
	svc, err := w.cluster.Client().CoreV1().Services(w.ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	c := svc.Spec.Selector["bluegreen.dev/color"]
	if c != "blue" && c != "green" {
		return c, fmt.Errorf("active Service selects colour %q", c)
	}
	d, err := w.cluster.Client().AppsV1().Deployments(w.ns).Get(ctx, "shop-"+c, metav1.GetOptions{})
	if err != nil {
		return c, err
	}
	if d.Status.ReadyReplicas == 0 {
		return c, fmt.Errorf("active Service selects %s, which has no Ready pods", c)
	}
	return c, nil
}

// TestSwitchReal_KilledAtRandomPointsConverges kills sync, promote and
// rollback with SIGKILL at random points, checks that traffic is never
// split or lost (and that sync never moves it), then re-runs them and checks
// they converge.
func TestSwitchReal_KilledAtRandomPointsConverges(t *testing.T) {
	t.Parallel()
	w := greenSynced(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	env := w.env(map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web", "BG_TIMEOUT": "60s"})
	ctx := context.Background()
	const cycles = 6
	kills, inconsistent := 0, 0
	for cycle := 0; cycle < cycles; cycle++ {
		if cycle > 0 { // rollback retired green: bring it back up, killing sync once on the way
			delay := time.Duration(rng.IntN(2500)) * time.Millisecond
			cmd, killed := startCLI(t, env, "sync")
			time.Sleep(delay)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			kills++
			if c, err := consistent(ctx, w); err != nil || c != "blue" {
				inconsistent++
				t.Errorf("cycle %d: sync killed after %s: live %s, %v (sync must never move traffic)\n%s", cycle, delay, c, err, killed)
			}
			if code, out, errOut := runCLI(t, env, "sync"); code != 0 {
				t.Fatalf("cycle %d: sync re-run after a kill at %s: exit %d\n%s\n%s\nkilled run:\n%s", cycle, delay, code, out, errOut, killed)
			}
		}
		for _, step := range []struct{ mode, want string }{{"promote", "green"}, {"rollback", "blue"}} {
			delay := time.Duration(rng.IntN(1500)) * time.Millisecond
			cmd, out := startCLI(t, env, step.mode)
			time.Sleep(delay)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			kills++
			if c, err := consistent(ctx, w); err != nil {
				inconsistent++
				t.Errorf("cycle %d: %s killed after %s: inconsistent (%s): %v\n%s", cycle, step.mode, delay, c, err, out)
			}
			code, rerun, errOut := runCLI(t, env, step.mode)
			if code != 0 {
				t.Fatalf("cycle %d: %s re-run after a kill at %s: exit %d\n%s\n%s\nkilled run:\n%s", cycle, step.mode, delay, code, rerun, errOut, out)
			}
			c, err := consistent(ctx, w)
			if err != nil || c != step.want {
				inconsistent++
				t.Errorf("cycle %d: after %s re-run: %s, %v (want %s)", cycle, step.mode, c, err, step.want)
			}
		}
	}
	t.Logf("%d kills, %d inconsistent states", kills, inconsistent)
}
