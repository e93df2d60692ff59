package argocd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/util/wait"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// stuckWaves keeps a sync operation running: wave 0 is a claim no
// provisioner will bind (Progressing for ever), and Argo CD waits for it to
// be healthy before it applies wave 1.
const stuckWaves = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: none-provisions-this
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: after
  annotations:
    argocd.argoproj.io/sync-wave: "1"
data:
  v: "%s"
`

// A job re-run after its first run was killed mid-sync finds that sync
// still running: Sync at the same revision joins it; Sync at another
// revision waits for it (and here, gives up with the context).
func TestRealArgoCD_SyncWhileAnOperationRuns(t *testing.T) {
	argo := env.ArgoCD(t)
	ns := env.Cluster(t).Namespace(t)
	repo := testenv.NewGitRepo(t)
	first := repo.Commit(t, "v1", map[string]string{"app/all.yaml": strings.Replace(stuckWaves, "%s", "1", 1)})
	argo.CreateApplication(t, testenv.Application{Name: ns, RepoURL: repo.URL(), Path: "app", Namespace: ns})
	var busy []string
	c, err := argocd.New(context.Background(), argocd.Options{
		Addr: argo.Addr(), Token: argo.Token(), PlainText: true, PollInterval: 200 * time.Millisecond,
		Busy: func(app string, st argocd.Status) { busy = append(busy, st.String()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if err := c.Sync(ctx, ns, first); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		st, err := c.Get(ctx, ns)
		return err == nil && st.Operation != nil && st.Operation.Phase == argocd.PhaseRunning, err
	})
	if err != nil {
		t.Fatalf("waiting for the sync to run: %v", err)
	}

	if err := c.Sync(ctx, ns, first); err != nil {
		t.Errorf("sync at the running revision: %v, want nil (join it)", err)
	}
	if len(busy) != 0 {
		t.Errorf("busy = %q, want nothing waited for", busy)
	}

	second := repo.Commit(t, "v2", map[string]string{"app/all.yaml": strings.Replace(stuckWaves, "%s", "2", 1)})
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	err = c.Sync(short, ns, second)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "waited for it") {
		t.Fatalf("sync at another revision while one runs: %v, want the refusal after waiting", err)
	}
	t.Logf("sync at another revision: %v", err)
	if len(busy) == 0 || !strings.Contains(busy[0], "Running") || !strings.Contains(busy[0], first[:7]) {
		t.Errorf("busy = %q, want the running sync at %s reported", busy, first[:7])
	}
	st, err := c.Get(ctx, ns)
	if err != nil || st.Operation == nil || st.Operation.Revision != first {
		t.Errorf("status = %s, %v: want the first sync still the operation", st, err)
	}
}
