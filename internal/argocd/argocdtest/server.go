// Package argocdtest is a fake Argo CD API server for fast tests of code
// that uses internal/argocd. It speaks the real gRPC wire format to the real
// apiclient: the Version service (which the apiclient calls first) and the
// Get, Sync, Watch and ResourceTree calls of the Application service. It checks the
// "token" metadata like the real server, and scripts what a sync leads to.
// Tests that need real Argo CD semantics use internal/testenv instead.
package argocdtest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/health"
	synccommon "github.com/argoproj/argo-cd/gitops-engine/v3/pkg/sync/common"
	"github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apiclient/version"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"gitlab.com/platform/bluegreen/internal/argocd"
)

// Outcome is how an application ends up after a sync.
type Outcome struct {
	Polls     int           // Gets that see the sync still running first
	Health    argocd.Health // after the sync; "" means Healthy
	Failed    bool          // the sync operation fails
	Message   string        // the operation's (or, with Health, the app's health) message
	Resources []argocd.Resource
}

// SyncCall is one Sync request the server received.
type SyncCall struct{ App, Revision string }

// Server is a fake Argo CD API server on loopback.
type Server struct {
	addr, token string

	mu       sync.Mutex
	apps     map[string]*app
	syncs    []SyncCall
	failures []error // returned by the next Application calls, in order

	noWatch     bool // Watch answers Unimplemented, as an old or filtered server
	watchEvents int  // events a stream sends before it breaks; 0: it never breaks
	watches     int  // Watch streams opened
	gets        int  // Get calls
}

// WithoutWatch makes the server answer Watch with Unimplemented.
func (s *Server) WithoutWatch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noWatch = true
}

// BreakWatchAfter makes every watch stream fail with Unavailable after n
// events, as a proxy that cuts long streams does.
func (s *Server) BreakWatchAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchEvents = n
}

// Calls reports how many watch streams were opened and Gets answered.
func (s *Server) Calls() (watches, gets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watches, s.gets
}

type app struct {
	outcome  Outcome
	revision string // synced (or being synced) revision
	running  int    // Gets left that see the sync running; -1: no sync yet
}

// NewServer starts a fake that accepts token, and stops it when tb ends.
func NewServer(tb testing.TB, token string) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{addr: l.Addr().String(), token: token, apps: map[string]*app{}}
	g := grpc.NewServer(grpc.UnaryInterceptor(s.auth), grpc.StreamInterceptor(s.authStream))
	version.RegisterVersionServiceServer(g, &api{Server: s})
	application.RegisterApplicationServiceServer(g, &api{Server: s})
	go func() { _ = g.Serve(l) }()
	tb.Cleanup(g.Stop)
	return s
}

// Options are client options for this server, with fast polling and retries.
func (s *Server) Options() argocd.Options {
	return argocd.Options{
		Addr: s.addr, Token: s.token, PlainText: true,
		PollInterval: 10 * time.Millisecond,
		Retry:        wait.Backoff{Duration: 10 * time.Millisecond, Factor: 2, Steps: 4, Cap: 100 * time.Millisecond},
	}
}

// AddApp adds an OutOfSync application whose syncs end in outcome.
func (s *Server) AddApp(name string, outcome Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[name] = &app{outcome: outcome, running: -1}
}

// FailNext makes the next Application calls fail with these codes, one each.
func (s *Server) FailNext(codes ...codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range codes {
		s.failures = append(s.failures, status.Error(c, "injected by argocdtest"))
	}
}

// Syncs returns the Sync requests received so far.
func (s *Server) Syncs() []SyncCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SyncCall(nil), s.syncs...)
}

// auth checks the token like argocd-server; the Version service is open.
func (s *Server) auth(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if info.FullMethod != "/version.VersionService/Version" {
		if err := s.check(ctx); err != nil {
			return nil, err
		}
	}
	return h(ctx, req)
}

// authStream is auth for the watch stream.
func (s *Server) authStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.check(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}

// check refuses a call without the token, or fails it as FailNext said.
func (s *Server) check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if t := md.Get("token"); len(t) != 1 || t[0] != s.token {
		return status.Error(codes.Unauthenticated, "invalid session")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		var injected error
		injected, s.failures = s.failures[0], s.failures[1:]
		return injected
	}
	return nil
}

// api implements the gRPC services over a Server's state, keeping Argo CD's
// types out of Server's own methods.
type api struct {
	application.UnimplementedApplicationServiceServer
	version.UnimplementedVersionServiceServer
	*Server
}

// Version answers the apiclient's first call.
func (s *api) Version(context.Context, *emptypb.Empty) (*version.VersionMessage, error) {
	return &version.VersionMessage{Version: "v3.6.1+argocdtest"}, nil
}

// Sync starts a sync, or refuses while one runs, as Argo CD does.
func (s *api) Sync(_ context.Context, req *application.ApplicationSyncRequest) (*v1alpha1.Application, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(req.GetName())
	if err != nil {
		return nil, err
	}
	if a.running > 0 {
		return nil, status.Error(codes.FailedPrecondition, "another operation is already in progress")
	}
	s.syncs = append(s.syncs, SyncCall{App: req.GetName(), Revision: req.GetRevision()})
	a.revision, a.running = req.GetRevision(), a.outcome.Polls
	return a.object(req.GetName(), true), nil
}

// Get returns the application, advancing a running sync by one poll.
func (s *api) Get(_ context.Context, q *application.ApplicationQuery) (*v1alpha1.Application, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	a, err := s.lookup(q.GetName())
	if err != nil {
		return nil, err
	}
	obj := a.object(q.GetName(), false)
	if a.running > 0 {
		a.running--
	}
	return obj, nil
}

// Watch streams the application as argocd-server does: its state at once,
// then, every 10 ms, its state one poll further along (a running sync
// advances as it does for a Get).
func (s *api) Watch(q *application.ApplicationQuery, ws application.ApplicationService_WatchServer) error {
	s.mu.Lock()
	s.watches++
	noWatch, limit := s.noWatch, s.watchEvents
	s.mu.Unlock()
	if noWatch {
		return status.Error(codes.Unimplemented, "unknown method Watch")
	}
	for sent := 0; ; sent++ {
		if limit > 0 && sent == limit {
			return status.Error(codes.Unavailable, "stream cut by argocdtest")
		}
		s.mu.Lock()
		a, err := s.lookup(q.GetName())
		if err != nil {
			s.mu.Unlock()
			return err
		}
		obj := a.object(q.GetName(), false)
		if a.running > 0 {
			a.running--
		}
		s.mu.Unlock()
		if err := ws.Send(&v1alpha1.ApplicationWatchEvent{Type: watch.Modified, Application: *obj}); err != nil {
			return err
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-ws.Context().Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// ResourceTree is empty: the fake keeps resource health in the status.
func (s *api) ResourceTree(context.Context, *application.ResourcesQuery) (*v1alpha1.ApplicationTree, error) {
	return &v1alpha1.ApplicationTree{}, nil
}

func (s *Server) lookup(name string) (*app, error) {
	a, ok := s.apps[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "applications.argoproj.io %q not found", name)
	}
	return a, nil
}

// object renders the app as Argo CD would report it.
func (a *app) object(name string, justRequested bool) *v1alpha1.Application {
	obj := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}}
	st := &obj.Status
	st.Sync.Status, st.Health.Status = v1alpha1.SyncStatusCodeOutOfSync, health.HealthStatusHealthy
	if a.running < 0 {
		return obj
	}
	op := &v1alpha1.Operation{Sync: &v1alpha1.SyncOperation{Revision: a.revision}}
	if justRequested || a.running > 0 {
		obj.Operation = op
		if !justRequested {
			st.OperationState = &v1alpha1.OperationState{Operation: *op, Phase: synccommon.OperationRunning, StartedAt: metav1.Now()}
			st.Health.Status = health.HealthStatusProgressing
		}
		return obj
	}
	o := a.outcome
	phase, h := synccommon.OperationSucceeded, "Healthy"
	if o.Failed {
		phase = synccommon.OperationFailed
	} else {
		st.Sync.Status, st.Sync.Revision = v1alpha1.SyncStatusCodeSynced, a.revision
	}
	if o.Health != "" {
		h = string(o.Health)
	}
	st.Health.Status, st.Health.Message = health.HealthStatusCode(h), o.Message
	now := metav1.Now()
	st.OperationState = &v1alpha1.OperationState{
		Operation: *op, Phase: phase, Message: o.Message, StartedAt: now, FinishedAt: &now,
		SyncResult: &v1alpha1.SyncOperationResult{Revision: a.revision},
	}
	for _, r := range o.Resources {
		rs := v1alpha1.ResourceStatus{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Status: v1alpha1.SyncStatusCode(r.Sync)}
		if r.Health != "" {
			rs.Health = &v1alpha1.HealthStatus{Status: health.HealthStatusCode(r.Health), Message: r.Message}
		}
		st.Resources = append(st.Resources, rs)
	}
	return obj
}
