package cli

import (
	"context"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// BenchmarkSwitchLatency measures, on the real cluster and Argo CD, the time
// from a command's start until the active Service's EndpointSlices hold only
// the new colour's pods: promote through git and Argo CD, promote with
// --direct, and the fast-path rollback (--now). Each iteration syncs green,
// then runs the three. Run:
//
//	go test ./internal/cli -run '^$' -bench BenchmarkSwitchLatency -benchtime 5x
func BenchmarkSwitchLatency(b *testing.B) {
	w := newWorld(b)
	env := w.env(map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"})
	for _, image := range []string{"registry.example.com/shop:1", "registry.example.com/shop:2"} {
		if code, out, errOut := w.release(shopManifests(b), image, map[string]string{"CI_PIPELINE_ID": "10", "CI_PROJECT_PATH": "shop/web"}); code != 0 {
			b.Fatalf("sync: %s%s", out, errOut)
		}
	}
	var gitops, gitopsJob, direct, fast []time.Duration
	for i := 0; b.Loop(); i++ {
		if i > 0 {
			if code, out, errOut := runCLI(b, env, "sync"); code != 0 { // green was retired by the rollback
				b.Fatalf("sync: %s%s", out, errOut)
			}
		}
		flip, job := w.timeSwitchAndJob(b, env, "green", "promote")
		gitops, gitopsJob = append(gitops, flip), append(gitopsJob, job)
		fast = append(fast, w.timeSwitch(b, env, "blue", "rollback", "--now"))
		if code, out, errOut := runCLI(b, env, "sync"); code != 0 {
			b.Fatalf("sync: %s%s", out, errOut)
		}
		direct = append(direct, w.timeSwitch(b, env, "green", "promote", "--direct"))
		// back to blue for the next round, without timing it
		if code, out, errOut := runCLI(b, env, "rollback", "--direct"); code != 0 {
			b.Fatalf("rollback: %s%s", out, errOut)
		}
	}
	b.ReportMetric(float64(median(gitops).Milliseconds()), "promote-gitops-ms")
	b.ReportMetric(float64(median(gitopsJob).Milliseconds()), "promote-gitops-job-ms")
	b.ReportMetric(float64(median(direct).Milliseconds()), "promote-direct-ms")
	b.ReportMetric(float64(median(fast).Milliseconds()), "rollback-fast-ms")
	b.Logf("medians over %d rounds: promote (git + Argo CD) %s (the job: %s), promote --direct %s, rollback --now %s",
		len(gitops), median(gitops), median(gitopsJob), median(direct), median(fast))
}

// timeSwitch runs the command and returns how long after its start the
// active Service's endpoints held only color's pods.
func (w *world) timeSwitch(b *testing.B, env map[string]string, color string, args ...string) time.Duration {
	flip, _ := w.timeSwitchAndJob(b, env, color, args...)
	return flip
}

// timeSwitchAndJob is timeSwitch that also returns how long the command
// took: the job's own time, which includes the wait for Argo CD to report
// Synced and Healthy after the endpoints flipped.
func (w *world) timeSwitchAndJob(b *testing.B, env map[string]string, color string, args ...string) (time.Duration, time.Duration) {
	start := time.Now()
	flipped := w.watchFlip(b, color)
	if code, out, errOut := runCLI(b, env, args...); code != 0 {
		b.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
	}
	job := time.Since(start)
	select {
	case at := <-flipped:
		return at.Sub(start), job
	case <-time.After(30 * time.Second):
		b.Fatalf("%v: endpoints never held only %s pods", args, color)
	}
	return 0, 0
}

// watchFlip reports when the active Service's EndpointSlices first hold
// only color's ready pods (those ready now), polling every 10ms for at
// most a minute.
func (w *world) watchFlip(tb testing.TB, color string) <-chan time.Time {
	tb.Helper()
	return watchEndpoints(tb, w, "shop", "bluegreen.dev/color="+color)
}

// watchEndpoints reports when Service svc's EndpointSlices first hold
// exactly the ready pods (those ready now) that pods selects, polling
// every 10ms for at most a minute.
func watchEndpoints(tb testing.TB, w *world, svc, pods string) <-chan time.Time {
	tb.Helper()
	ctx := context.Background()
	list, err := w.cluster.Client().CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: pods})
	if err != nil {
		tb.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range list.Items {
		if isReady(p) {
			want[p.Status.PodIP] = true
		}
	}
	flipped := make(chan time.Time, 1)
	go func() {
		_ = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			slices, err := w.cluster.Client().DiscoveryV1().EndpointSlices(w.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
			if err != nil {
				return false, nil
			}
			n := 0
			for _, s := range slices.Items {
				for _, e := range s.Endpoints {
					for _, a := range e.Addresses {
						if !want[a] {
							return false, nil
						}
						n++
					}
				}
			}
			if n == len(want) && n > 0 {
				flipped <- time.Now()
				return true, nil
			}
			return false, nil
		})
	}()
	return flipped
}
