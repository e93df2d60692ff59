package testenv_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

func TestCluster_DeploymentBecomesAvailable(t *testing.T) {
	t.Parallel()
	c := env.Cluster(t)
	ns := c.Namespace(t)
	ctx := testContext(t)

	start := time.Now()
	createDeployment(ctx, t, c.Client(), ns, "web", "blue", 2)
	d := waitAvailable(ctx, t, c.Client(), ns, "web-blue", 2)
	t.Logf("2 replicas available in %s", time.Since(start).Round(time.Millisecond))

	if d.Status.AvailableReplicas != 2 || d.Status.UpdatedReplicas != 2 {
		t.Fatalf("status = %+v, want 2 available and updated", d.Status)
	}
	pods := podIPs(ctx, t, c.Client(), ns, "blue")
	if len(pods) != 2 {
		t.Fatalf("pod IPs = %v, want 2", pods)
	}
}

func TestCluster_ServiceSelectorPatchMovesEndpointSlices(t *testing.T) {
	t.Parallel()
	c := env.Cluster(t)
	ns := c.Namespace(t)
	ctx := testContext(t)
	client := c.Client()

	for _, color := range []string{"blue", "green"} {
		createDeployment(ctx, t, client, ns, "web", color, 2)
	}
	for _, color := range []string{"blue", "green"} {
		waitAvailable(ctx, t, client, ns, "web-"+color, 2)
	}
	blue, green := podIPs(ctx, t, client, ns, "blue"), podIPs(ctx, t, client, ns, "green")
	if len(blue) != 2 || len(green) != 2 || slices.Equal(blue, green) {
		t.Fatalf("pod IPs: blue %v, green %v; want two distinct pairs", blue, green)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web", "color": "blue"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(ctx, t, client, ns, "web", blue)

	start := time.Now()
	patch := []byte(`{"spec":{"selector":{"color":"green"}}}`)
	if _, err := client.CoreV1().Services(ns).Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(ctx, t, client, ns, "web", green)
	t.Logf("EndpointSlices followed the selector in %s", time.Since(start).Round(time.Millisecond))
}

func TestCluster_RoleWithoutPatchServicesIsRefusedSelectorPatch(t *testing.T) {
	t.Parallel()
	c := env.Cluster(t)
	ns := c.Namespace(t)
	ctx := testContext(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web", "color": "blue"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := c.Client().CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cfg, err := c.ServiceAccountConfig(ctx, ns, "reader", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list", "watch"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sa := kubernetes.NewForConfigOrDie(cfg)
	if _, err := sa.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("get with the granted verb: %v", err)
	}
	patch := []byte(`{"spec":{"selector":{"color":"green"}}}`)
	_, err = sa.CoreV1().Services(ns).Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("selector patch without patch services: err = %v, want Forbidden", err)
	}
	got, err := c.Client().CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Selector["color"] != "blue" {
		t.Fatalf("selector = %v after a refused patch, want color=blue", got.Spec.Selector)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func createDeployment(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, app, color string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": app, "color": color}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app + "-" + color, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: app, Image: "registry.invalid/" + app + ":" + color,
					Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitAvailable(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string, replicas int32) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	poll(ctx, t, "deployment "+name+" available", func(ctx context.Context) (bool, error) {
		var err error
		d, err = client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
				return d.Status.AvailableReplicas == replicas, nil
			}
		}
		return false, nil
	})
	return d
}

// podIPs returns the sorted IPs of the Ready pods of one colour.
func podIPs(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, color string) []string {
	t.Helper()
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "color=" + color})
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, p := range pods.Items {
		if p.Status.PodIP != "" {
			ips = append(ips, p.Status.PodIP)
		}
	}
	slices.Sort(ips)
	return ips
}

// waitEndpoints waits until the Service's EndpointSlices hold exactly want
// as ready addresses.
func waitEndpoints(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, svc string, want []string) {
	t.Helper()
	var got []string
	poll(ctx, t, fmt.Sprintf("endpointslices of %s = %v", svc, want), func(ctx context.Context) (bool, error) {
		slicesList, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx,
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			return false, err
		}
		got = nil
		for _, s := range slicesList.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
					got = append(got, ep.Addresses...)
				}
			}
		}
		slices.Sort(got)
		return slices.Equal(got, want), nil
	})
}

// poll checks cond every 50ms until it holds, failing t at ctx's deadline.
func poll(ctx context.Context, t *testing.T, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
