package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// Proof proves that a colour is up and that Services reach only it: its
// Deployment is Available at its newest generation, and every given
// Service's EndpointSlices hold exactly that colour's ready pod IPs and none
// of the other colour's. sync proves the preview Services this way (Argo
// CD's "Healthy" says nothing about endpoints), promote and rollback the
// active ones after a switch.
type Proof struct {
	Client   kubernetes.Interface
	Interval time.Duration // poll interval; 0 means 250 ms
}

// ErrLeaks means a Service reaches pods of another colour.
var ErrLeaks = errors.New("the Service reaches pods of another colour")

// Wait polls until the proof holds or ctx ends. progress sees each new
// state, one line each. A Service whose selector does not pin the colour
// fails at once; endpoints of the other colour that outlast ctx are a
// negative verdict (exit 1); anything else that outlasts ctx is a timeout
// (exit 3).
func (p Proof) Wait(ctx context.Context, ns, deployment string, services []string, color plan.Color, progress func(string)) error {
	interval := p.Interval
	if interval == 0 {
		interval = 250 * time.Millisecond
	}
	last := ""  // the last state shown
	proof := "" // the last answer of a complete check, for the deadline message
	var leak error
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		state, err := p.check(ctx, ns, deployment, services, color)
		var ny notYet
		switch {
		case err == nil:
		case errors.Is(err, ErrLeaks):
			leak, state, proof = err, err.Error(), err.Error()
		case errors.As(err, &ny):
			leak, state, proof = nil, err.Error(), err.Error()
		case outcome.KindOf(err) == outcome.Negative:
			return false, err // a selector that can never be right
		default:
			state = err.Error() // a failed read: try again, keep the verdict so far
		}
		if state != last && progress != nil {
			progress(state)
		}
		last = state
		return err == nil, nil
	})
	switch {
	case err == nil:
		return nil
	case outcome.KindOf(err) == outcome.Negative && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
		return err
	case leak != nil:
		return outcome.As(outcome.Negative, leak)
	case proof == "":
		proof = last
	}
	return outcome.Externalf("preflight of %s in %s: not proven before the deadline: %s", color, ns, proof)
}

// notYet is a check that ran and found the colour not yet up.
type notYet struct{ msg string }

func (n notYet) Error() string { return n.msg }

func notYetf(format string, a ...any) error { return notYet{fmt.Sprintf(format, a...)} }

// check returns a one-line state when the proof holds, or why it does not.
func (p Proof) check(ctx context.Context, ns, deployment string, services []string, color plan.Color) (string, error) {
	d, err := p.Client.AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return "", outcome.Externalf("read Deployment %s/%s: %w", ns, deployment, err)
	}
	if why := notAvailable(d); why != "" {
		return "", notYetf("Deployment %s: %s", deployment, why)
	}
	var proven []string
	for _, svc := range services {
		n, err := p.checkService(ctx, ns, svc, color)
		if err != nil {
			return "", err
		}
		proven = append(proven, fmt.Sprintf("%s → %d %s pod(s)", svc, n, color))
	}
	return fmt.Sprintf("Deployment %s available (%d/%d); %s", deployment, d.Status.AvailableReplicas, replicas(d), strings.Join(proven, ", ")), nil
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// notAvailable says why a Deployment is not fully rolled out, or "".
func notAvailable(d *appsv1.Deployment) string {
	want := replicas(d)
	switch {
	case d.Status.ObservedGeneration < d.Generation:
		return fmt.Sprintf("generation %d not yet observed (at %d)", d.Generation, d.Status.ObservedGeneration)
	case d.Status.UpdatedReplicas < want:
		return fmt.Sprintf("%d of %d replicas updated", d.Status.UpdatedReplicas, want)
	case d.Status.Replicas > d.Status.UpdatedReplicas:
		return fmt.Sprintf("%d old replicas still terminating", d.Status.Replicas-d.Status.UpdatedReplicas)
	case d.Status.AvailableReplicas < want:
		return fmt.Sprintf("%d of %d replicas available", d.Status.AvailableReplicas, want)
	}
	return ""
}

// checkService proves one Service and returns how many pods it reaches.
func (p Proof) checkService(ctx context.Context, ns, name string, color plan.Color) (int, error) {
	svc, err := p.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, outcome.Externalf("read Service %s/%s: %w", ns, name, err)
	}
	if got := svc.Spec.Selector[ColorLabel]; got != string(color) {
		return 0, outcome.Negativef("Service %s/%s selects %s=%q, not %q: its traffic would go to the wrong pods", ns, name, ColorLabel, got, color)
	}
	return reaches(ctx, p.Client, ns, svc, ColorLabel, string(color))
}

// reaches proves that Service svc's EndpointSlices hold exactly the ready
// pods labelled key=value among those its other selector labels select,
// and no other such pod, and returns how many it reaches.
func reaches(ctx context.Context, client kubernetes.Interface, ns string, svc *corev1.Service, key, value string) (int, error) {
	name := svc.Name
	app := labels.Set{}
	for k, v := range svc.Spec.Selector {
		if k != key {
			app[k] = v
		}
	}
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: app.String()})
	if err != nil {
		return 0, outcome.Externalf("list pods of %s/%s: %w", ns, name, err)
	}
	ready, other := map[string]bool{}, map[string]string{}
	for _, pod := range pods.Items {
		if pod.Status.PodIP == "" {
			continue
		}
		if pod.Labels[key] != value {
			other[pod.Status.PodIP] = pod.Name
			continue
		}
		if pod.DeletionTimestamp == nil && podReady(&pod) {
			ready[pod.Status.PodIP] = true
		}
	}
	eps, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		return 0, outcome.Externalf("list EndpointSlices of %s/%s: %w", ns, name, err)
	}
	got := map[string]bool{}
	var leaks []string
	for _, s := range eps.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, ip := range ep.Addresses {
				got[ip] = true
				if pod, ok := other[ip]; ok {
					leaks = append(leaks, pod+" ("+ip+")")
				}
			}
		}
	}
	if len(leaks) > 0 {
		sort.Strings(leaks)
		return 0, fmt.Errorf("endpoints of %s/%s: %w: %s", ns, name, ErrLeaks, strings.Join(leaks, ", "))
	}
	if len(ready) == 0 {
		return 0, notYetf("Service %s: no ready %s pods yet", name, value)
	}
	if missing := diff(ready, got); len(missing) > 0 {
		return 0, notYetf("Service %s: endpoints lack ready %s pod IPs %s", name, value, strings.Join(missing, ", "))
	}
	if extra := diff(got, ready); len(extra) > 0 {
		return 0, notYetf("Service %s: endpoints hold unknown IPs %s", name, strings.Join(extra, ", "))
	}
	return len(ready), nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// diff lists the keys of a that are not in b, sorted.
func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
