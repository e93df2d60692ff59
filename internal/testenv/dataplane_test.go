package testenv_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"gitlab.com/platform/bluegreen/internal/testenv"
)

// colorApp creates Deployment web-<color> with the bluegreen colour label,
// serving on 8080, with a preStop sleep and a short grace.
func colorApp(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, color string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app.kubernetes.io/name": "web", "bluegreen.dev/color": color}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + color, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](5),
					Containers: []corev1.Container{{
						Name: "web", Image: "registry.invalid/web:" + color,
						Ports:     []corev1.ContainerPort{{ContainerPort: 8080}},
						Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}},
					}},
				},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// colorService creates Service web selecting color, and returns its URL.
func colorService(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, color string) string {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app.kubernetes.io/name": "web", "bluegreen.dev/color": color},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	s, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return testenv.ClusterURL(s.Spec.ClusterIP, 80)
}

// waitServed waits until the URL answers 200 from color.
func waitServed(ctx context.Context, t *testing.T, url, color string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	poll(ctx, t, url+" answered by "+color, func(ctx context.Context) (bool, error) {
		res, err := client.Get(url)
		if err != nil {
			return false, nil
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK && res.Header.Get(testenv.HeaderColor) == color, nil
	})
}

func TestDataPlane_SelectorSwitchUnderLoadFailsNoRequestAndRetirementDrains(t *testing.T) {
	dp := env.Cluster(t).DataPlane(t)
	c := env.Cluster(t)
	ns := c.Namespace(t)
	ctx := testContext(t)
	client := c.Client()
	colorApp(ctx, t, client, ns, "blue", 2)
	colorApp(ctx, t, client, ns, "green", 2)
	waitAvailable(ctx, t, client, ns, "web-blue", 2)
	waitAvailable(ctx, t, client, ns, "web-green", 2)
	url := colorService(ctx, t, client, ns, "blue")
	waitServed(ctx, t, url, "blue")

	run := testenv.Load{URL: url, Rate: 300, Conns: 8, Duration: 5 * time.Second}.Start(ctx)
	time.Sleep(1500 * time.Millisecond)
	switched := time.Now()
	patch := `{"spec":{"selector":{"bluegreen.dev/color":"green"}}}`
	if _, err := client.CoreV1().Services(ns).Patch(ctx, "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // more than ConnMaxAge: every connection is redialled
	retired := time.Now()
	if _, err := client.AppsV1().Deployments(ns).Patch(ctx, "web-blue", types.MergePatchType, []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := run.Wait()
	if f := rs.Failed(); len(f) > 0 {
		t.Errorf("%d of %d requests failed, first: %+v\nkube-proxy:\n%s", len(f), len(rs), f[0], dp.Log(20))
	}
	if len(rs) < 1200 || rs.Conns() < 8 {
		t.Errorf("load sent %d requests over %d connections, want ≥ 1200 over ≥ 8", len(rs), rs.Conns())
	}
	before := rs.Between(time.Time{}, switched).Colors()
	if before["blue"] == 0 || before["green"] > 0 {
		t.Errorf("before the switch: %v, want only blue", before)
	}
	if got := rs.DialedAfter(switched.Add(time.Second)).Colors(); got["blue"] > 0 || got["green"] == 0 {
		t.Errorf("connections dialled 1s after the switch were answered by %v, want only green", got)
	}
	last := rs.Last("blue")
	t.Logf("%d requests, %d connections, p99 %s; last blue answer %s after the switch; blue retired %s after it",
		len(rs), rs.Conns(), rs.Percentile(0.99), last.Sub(switched).Round(time.Millisecond), retired.Sub(switched).Round(time.Millisecond))
	if last.After(retired) {
		t.Errorf("blue answered at %s, after its retirement", last)
	}
}

func TestDataPlane_DeletedPodFinishesInFlightRequestsThenStops(t *testing.T) {
	env.Cluster(t).DataPlane(t)
	c := env.Cluster(t)
	ns := c.Namespace(t)
	ctx := testContext(t)
	client := c.Client()
	colorApp(ctx, t, client, ns, "blue", 1)
	waitAvailable(ctx, t, client, ns, "web-blue", 1)
	url := colorService(ctx, t, client, ns, "blue")
	waitServed(ctx, t, url, "blue")

	slow := make(chan error, 1)
	go func() {
		res, err := http.Get(url + "/?delay=2s")
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				err = &statusError{res.StatusCode}
			}
		}
		slow <- err
	}()
	time.Sleep(300 * time.Millisecond)
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods: %v %v", pods, err)
	}
	deleted := time.Now()
	if err := client.CoreV1().Pods(ns).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-slow; err != nil {
		t.Fatalf("the request in flight at deletion: %v", err)
	}
	var stopped time.Time
	poll(ctx, t, "pod server stopped", func(context.Context) (bool, error) {
		for _, e := range env.Cluster(t).DataPlane(t).Pods.Events(ns) {
			if e.What == "stopped" && e.Pod == ns+"/"+pods.Items[0].Name {
				stopped = e.At
				return true, nil
			}
		}
		return false, nil
	})
	// preStop sleeps 1s, the request ends 2s after it started; grace is 5s.
	if d := stopped.Sub(deleted); d < 1500*time.Millisecond || d > 5500*time.Millisecond {
		t.Errorf("the pod server stopped %s after the deletion, want after its in-flight request and within the 5s grace", d)
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }
