package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// DefaultPodPort is served for a pod whose containers declare no port.
const DefaultPodPort = 8080

// Response headers of a pod server.
const (
	HeaderColor = "X-Bluegreen-Color"
	HeaderPod   = "X-Bluegreen-Pod"
	HeaderImage = "X-Bluegreen-Image"
	HeaderHash  = "X-Bluegreen-Hash" // an Argo Rollouts pod's rollouts-pod-template-hash
)

// PodRunner plays the container runtime for kwok's pods: for every Running
// pod with an IP it serves HTTP on that IP (added to DataPlaneLink) and on
// each declared TCP container port (DefaultPodPort when none). A request
// answers 200 with the pod's colour label, image and name, in headers and
// in the body "color pod image", and an Argo Rollouts pod's ReplicaSet
// hash in HeaderHash; ?delay=50ms holds the answer that long.
// While the pod is not Ready it answers 503. When the pod is being deleted
// it runs the pod's preStop sleep (still serving), then stops accepting,
// finishes in-flight requests, closes idle keep-alive connections, and
// exits within the pod's termination grace, as a well-behaved app does on
// SIGTERM.
type PodRunner struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	pods map[types.UID]*podServer
	ips  map[string]int // pod IP -> servers holding it on the link
	log  []PodEvent
}

// PodEvent is one thing that happened to a pod server.
type PodEvent struct {
	At       time.Time
	Pod      string // namespace/name
	Color    string
	What     string // "serving", "draining", "stopped"
	InFlight int64  // requests in flight at "draining"
	Served   int64  // requests answered, at "stopped"
}

type podServer struct {
	key, ip, color, hash, image string
	ports                       []int
	grace, preStop              time.Duration

	ready    atomic.Bool
	inFlight atomic.Int64
	served   atomic.Int64
	servers  []*http.Server
	stopping bool
}

// StartPodRunner watches every pod of the cluster and serves the Running
// ones until Stop.
func StartPodRunner(ctx context.Context, client kubernetes.Interface) (*PodRunner, error) {
	run, cancel := context.WithCancel(context.Background())
	r := &PodRunner{cancel: cancel, done: make(chan struct{}), pods: map[types.UID]*podServer{}, ips: map[string]int{}}
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { r.observe(o, false) },
		UpdateFunc: func(_, o any) { r.observe(o, false) },
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			r.observe(o, true)
		},
	}); err != nil {
		cancel()
		return nil, fmt.Errorf("pod runner: %w", err)
	}
	factory.Start(run.Done())
	go func() { <-run.Done(); factory.Shutdown(); close(r.done) }()
	synced := make(chan bool, 1)
	go func() { synced <- cache.WaitForCacheSync(run.Done(), inf.HasSynced) }()
	select {
	case <-synced:
		return r, nil
	case <-ctx.Done():
		r.Stop()
		return nil, fmt.Errorf("pod runner: pods not listed: %w", ctx.Err())
	}
}

// observe starts, updates or drains the server of a pod.
func (r *PodRunner) observe(o any, deleted bool) {
	pod, ok := o.(*corev1.Pod)
	if !ok || pod.Spec.HostNetwork {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.pods[pod.UID]
	switch {
	case s == nil && !deleted && pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP != "":
		s = newPodServer(pod)
		r.pods[pod.UID] = s
		s.ready.Store(podIsReady(pod))
		r.ips[s.ip]++
		go r.serve(s)
	case s == nil:
	case deleted || pod.DeletionTimestamp != nil:
		if !s.stopping {
			s.stopping = true
			r.eventLocked(s, "draining", s.inFlight.Load(), 0)
			go r.drain(pod.UID, s)
		}
	default:
		s.ready.Store(podIsReady(pod))
	}
}

func newPodServer(pod *corev1.Pod) *podServer {
	s := &podServer{key: pod.Namespace + "/" + pod.Name, ip: pod.Status.PodIP, color: pod.Labels["bluegreen.dev/color"], hash: pod.Labels["rollouts-pod-template-hash"]}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	s.grace = time.Duration(grace) * time.Second
	for _, c := range pod.Spec.Containers {
		if s.image == "" {
			s.image = c.Image
		}
		for _, p := range c.Ports {
			if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
				s.ports = append(s.ports, int(p.ContainerPort))
			}
		}
		if l := c.Lifecycle; l != nil && l.PreStop != nil && s.preStop == 0 {
			s.preStop = preStopSleep(l.PreStop)
		}
	}
	if len(s.ports) == 0 {
		s.ports = []int{DefaultPodPort}
	}
	return s
}

// preStopSleep is how long a preStop hook sleeps: the sleep action, or an
// exec of `sleep N`.
func preStopSleep(h *corev1.LifecycleHandler) time.Duration {
	if h.Sleep != nil {
		return time.Duration(h.Sleep.Seconds) * time.Second
	}
	if h.Exec != nil && len(h.Exec.Command) == 2 && h.Exec.Command[0] == "sleep" {
		if n, err := strconv.ParseFloat(h.Exec.Command[1], 64); err == nil {
			return time.Duration(n * float64(time.Second))
		}
	}
	return 0
}

func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// serve adds the pod's IP to the link and listens on its ports. A new pod
// may get the IP of one still draining: it waits for the port, as a
// runtime would wait for the old sandbox.
func (r *PodRunner) serve(s *podServer) {
	if err := ip("addr", "add", s.ip+"/32", "dev", DataPlaneLink); err != nil && !isExists(err) {
		r.event(s, "failed: "+err.Error(), 0, 0)
		return
	}
	for _, port := range s.ports {
		addr := net.JoinHostPort(s.ip, strconv.Itoa(port))
		var ln net.Listener
		var err error
		for try := 0; try < 100; try++ {
			if ln, err = net.Listen("tcp", addr); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			r.event(s, "failed: "+err.Error(), 0, 0)
			continue
		}
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
		r.mu.Lock()
		stopping := s.stopping
		if !stopping {
			s.servers = append(s.servers, srv)
		}
		r.mu.Unlock()
		if stopping {
			ln.Close()
			return
		}
		go func() { _ = srv.Serve(ln) }()
	}
	r.event(s, "serving", 0, 0)
}

func isExists(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "File exists") || strings.Contains(err.Error(), "already assigned"))
}

// drain is the pod's termination: preStop, then a graceful shutdown within
// what is left of the grace period, then a hard close.
func (r *PodRunner) drain(uid types.UID, s *podServer) {
	deadline := time.Now().Add(s.grace)
	if s.preStop > 0 {
		time.Sleep(min(s.preStop, s.grace))
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	r.mu.Lock()
	servers := s.servers
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		}()
	}
	wg.Wait()
	r.release(uid, s)
	r.event(s, "stopped", 0, s.served.Load())
}

// release forgets the server and takes its IP off the link when no other
// server holds it.
func (r *PodRunner) release(uid types.UID, s *podServer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pods[uid] == s {
		delete(r.pods, uid)
	}
	r.ips[s.ip]--
	if r.ips[s.ip] <= 0 {
		delete(r.ips, s.ip)
		_ = ip("addr", "del", s.ip+"/32", "dev", DataPlaneLink)
	}
}

// ServeHTTP answers as the pod.
func (s *podServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	if d, err := time.ParseDuration(req.URL.Query().Get("delay")); err == nil && d > 0 {
		time.Sleep(min(d, 10*time.Second))
	}
	h := w.Header()
	h.Set(HeaderColor, s.color)
	h.Set(HeaderPod, s.key)
	h.Set(HeaderImage, s.image)
	if s.hash != "" {
		h.Set(HeaderHash, s.hash)
	}
	if !s.ready.Load() {
		http.Error(w, errNotReady.Error(), http.StatusServiceUnavailable)
		return
	}
	s.served.Add(1)
	fmt.Fprintf(w, "%s %s %s\n", s.color, s.key, s.image)
}

func (r *PodRunner) event(s *podServer, what string, inFlight, served int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.eventLocked(s, what, inFlight, served)
}

func (r *PodRunner) eventLocked(s *podServer, what string, inFlight, served int64) {
	r.log = append(r.log, PodEvent{At: time.Now(), Pod: s.key, Color: s.color, What: what, InFlight: inFlight, Served: served})
}

// Events returns what happened to the pod servers of namespace ns so far.
func (r *PodRunner) Events(ns string) []PodEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []PodEvent
	for _, e := range r.log {
		if strings.HasPrefix(e.Pod, ns+"/") {
			out = append(out, e)
		}
	}
	return out
}

// Serving returns the names of namespace ns's pods of color whose servers
// are up and not draining.
func (r *PodRunner) Serving(ns, color string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.pods {
		if !s.stopping && s.color == color && len(s.servers) > 0 && strings.HasPrefix(s.key, ns+"/") {
			out = append(out, s.key)
		}
	}
	return out
}

// Stop stops watching and closes every server at once, without draining.
func (r *PodRunner) Stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	for uid, s := range r.pods {
		s.stopping = true
		for _, srv := range s.servers {
			_ = srv.Close()
		}
		delete(r.pods, uid)
	}
	for a := range r.ips {
		_ = ip("addr", "del", a+"/32", "dev", DataPlaneLink)
	}
	r.ips = map[string]int{}
}
