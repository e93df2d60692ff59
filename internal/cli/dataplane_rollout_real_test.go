package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gitlab.com/platform/bluegreen/internal/testenv"
)

// A Rollout app on the data plane, with the real Argo Rollouts controller
// moving its Services: under load, promote (unpause) and the rollback
// after it (an undo to the previous revision, still warm) fail no request,
// and after each switch every new answer comes from the other ReplicaSet.
func TestDataPlaneReal_RolloutPromoteThenUndoUnderLoadFailNoRequest(t *testing.T) {
	t.Parallel()
	dp := realEnv.Cluster(t).DataPlane(t)
	w := rolloutWorld(t)
	h1, h2 := w.pausedRelease(t, "registry.example.com/shop:2")
	svc, err := w.cluster.Client().CoreV1().Services(w.ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := testenv.ClusterURL(svc.Spec.ClusterIP, 80)
	waitAnsweredBy(t, url, testenv.HeaderHash, h1)
	run := func(mode string) func() (int, string, string) {
		return func() (int, string, string) { return runCLI(t, w.env(nil), mode) }
	}

	s := underLoadDo(t, time.Second, url, "promote", run("promote"))
	assertNoneFailedThenOnlyBy(t, dp, s, testenv.ByHash, h2, h1)
	if st := w.rollout(t); st.Stable != h2 || !st.Promoted() {
		t.Errorf("after promote: Rollout %s, want %s stable", st, h2)
	}

	s = underLoadDo(t, time.Second, url, "rollback", run("rollback"))
	assertNoneFailedThenOnlyBy(t, dp, s, testenv.ByHash, h1, h2)
	if !strings.Contains(s.out, "undoing to the previous revision") {
		t.Errorf("the rollback after a finished promotion does not undo:\n%s", s.out)
	}
	if st := w.rollout(t); st.Stable != h1 || st.Current != h1 {
		t.Errorf("after the rollback: Rollout %s, want %s stable and current", st, h1)
	}
}
