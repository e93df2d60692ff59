// Package argocdtest is a fake Argo CD API server for fast tests of code
// that uses internal/argocd. It speaks the real gRPC wire format to the real
// apiclient: the Version service (which the apiclient calls first) and the
// Get, Sync and ResourceTree calls of the Application service. It checks the
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
	g := grpc.NewServer(grpc.UnaryInterceptor(s.auth))
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
		md, _ := metadata.FromIncomingContext(ctx)
		if t := md.Get("token"); len(t) != 1 || t[0] != s.token {
			return nil, status.Error(codes.Unauthenticated, "invalid session")
		}
		s.mu.Lock()
		var injected error
		if len(s.failures) > 0 {
			injected, s.failures = s.failures[0], s.failures[1:]
		}
		s.mu.Unlock()
		if injected != nil {
			return nil, injected
		}
	}
	return h(ctx, req)
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
