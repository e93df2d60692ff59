package argocd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gitlab.com/platform/bluegreen/internal/argocd"
	"gitlab.com/platform/bluegreen/internal/testenv"
)

// The tests below run against a real Argo CD v3.6.1 over a real cluster,
// started once for the package by testenv.

func TestRealArgoCD_SyncReachesSyncedHealthyAtRevision(t *testing.T) {
	argo := env.ArgoCD(t)
	cluster := env.Cluster(t)
	ns := cluster.Namespace(t)
	repo := testenv.NewGitRepo(t)
	v1 := repo.Commit(t, "web v1", map[string]string{"web/deployment.yaml": deployment("web", "registry.invalid/web:1")})
	argo.CreateApplication(t, testenv.Application{Name: ns, RepoURL: repo.URL(), Path: "web", Namespace: ns})
	c := realClient(t, argo)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Sync v1, then commit and sync v2: each revision is HEAD when synced,
	// as Argo CD compares with the Application's targetRevision (HEAD).
	for i, image := range []string{"registry.invalid/web:1", "registry.invalid/web:2"} {
		step := struct{ rev, image string }{v1, image}
		if i > 0 {
			step.rev = repo.Commit(t, "web v2", map[string]string{"web/deployment.yaml": deployment("web", image)})
		}
		start := time.Now()
		if err := c.Sync(ctx, ns, step.rev); err != nil {
			t.Fatal(err)
		}
		st, err := c.Wait(ctx, ns, step.rev, func(s argocd.Status) { t.Logf("progress: %s", s) })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("synced %s in %s", step.rev[:7], time.Since(start).Round(time.Millisecond))
		if st.Sync != argocd.Synced || st.Revision != step.rev || st.Health != argocd.Healthy {
			t.Fatalf("status = %s, want Synced at %s and Healthy", st, step.rev)
		}
		if st.Operation == nil || st.Operation.Phase != argocd.PhaseSucceeded || st.Operation.Revision != step.rev {
			t.Errorf("operation = %+v, want Succeeded at %s", st.Operation, step.rev)
		}
		if len(st.Resources) != 2 {
			t.Errorf("resources = %+v, want the Deployment and the Service", st.Resources)
		}
		for _, r := range st.Resources {
			if r.Sync != argocd.Synced || (r.Kind == "Deployment" && r.Health != argocd.Healthy) {
				t.Errorf("resource %s/%s: sync %s health %s", r.Kind, r.Name, r.Sync, r.Health)
			}
		}
		d, err := cluster.Client().AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != step.image || d.Status.AvailableReplicas != 2 {
			t.Errorf("deployment: image %s, %d available; want %s, 2", img, d.Status.AvailableReplicas, step.image)
		}
	}
}

func TestRealArgoCD_RejectedManifestEndsWithErrOperationFailed(t *testing.T) {
	argo := env.ArgoCD(t)
	ns := env.Cluster(t).Namespace(t)
	repo := testenv.NewGitRepo(t)
	bad := strings.Replace(deployment("web", "registry.invalid/web:1"), "replicas: 2", "replicas: -1", 1)
	rev := repo.Commit(t, "invalid replicas", map[string]string{"web/deployment.yaml": bad})
	argo.CreateApplication(t, testenv.Application{Name: ns, RepoURL: repo.URL(), Path: "web", Namespace: ns})
	c := realClient(t, argo)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if err := c.Sync(ctx, ns, rev); err != nil {
		t.Fatal(err)
	}
	_, err := c.Wait(ctx, ns, rev, nil)
	if !errors.Is(err, argocd.ErrOperationFailed) {
		t.Fatalf("err = %v, want ErrOperationFailed", err)
	}
	t.Logf("wait: %v", err)
	if !strings.Contains(err.Error(), "replicas") {
		t.Errorf("err = %q, want the apiserver's reason", err)
	}
}

func TestRealArgoCD_WrongTokenIsRefused(t *testing.T) {
	argo := env.ArgoCD(t)
	c, err := argocd.New(context.Background(), argocd.Options{Addr: argo.Addr(), Token: "not-a-token", PlainText: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Get(context.Background(), "anything"); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("err = %v, want Unauthenticated", err)
	}
}

func realClient(t *testing.T, argo *testenv.ArgoCD) *argocd.Client {
	t.Helper()
	c, err := argocd.New(context.Background(), argocd.Options{
		Addr: argo.Addr(), Token: argo.Token(), PlainText: true, PollInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// deployment is a two-replica Deployment and its Service.
func deployment(name, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: %[1]s
        image: %[2]s
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
`, name, image)
}
