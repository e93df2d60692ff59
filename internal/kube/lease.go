package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"gitlab.com/platform/bluegreen/internal/outcome"
)

// Lock is the environment lock: a Lease named bluegreen-<app> in the app's
// namespace. GitLab's resource_group serialises jobs; the Lease also holds
// when someone bypasses it (a second project, a hand-run job), so that two
// pipelines can never interleave a switch.
type Lock struct {
	Client kubernetes.Interface
	TTL    time.Duration    // how long a holder that stopped renewing keeps it; 0 means 30 s
	Now    func() time.Time // nil means time.Now
}

// Held is a taken lock. Release it when done; it renews itself until then.
type Held struct {
	stop context.CancelFunc
	done chan struct{}
	lock Lock
	ns   string
	name string
	who  string
	mu   sync.Mutex
	err  error // the first failed renewal
}

// LeaseName is the lock's name for app.
func LeaseName(app string) string { return "bluegreen-" + app }

// Acquire takes the lock for holder, an identity such as "pipeline 42 of
// shop/checkout". The same holder takes it back at once (a retried job of
// the same pipeline); another holder gets a Locked error (exit 4) naming who
// holds it and since when, unless its lease expired.
func (l Lock) Acquire(ctx context.Context, ns, app, holder string) (*Held, error) {
	if l.TTL == 0 {
		l.TTL = 30 * time.Second
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	name := LeaseName(app)
	for attempt := 0; attempt < 5; attempt++ {
		err := l.tryAcquire(ctx, ns, name, holder)
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			continue // raced with another writer: read again
		}
		if err != nil {
			return nil, err
		}
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		h := &Held{stop: cancel, done: make(chan struct{}), lock: l, ns: ns, name: name, who: holder}
		go h.renew(rctx)
		return h, nil
	}
	return nil, outcome.Externalf("lease %s/%s: too many conflicting writers", ns, name)
}

func (l Lock) tryAcquire(ctx context.Context, ns, name, holder string) error {
	leases := l.Client.CoordinationV1().Leases(ns)
	now := metav1.NewMicroTime(l.Now())
	ttl := int32(l.TTL / time.Second)
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "bluegreen"}},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(ttl),
				AcquireTime: &now, RenewTime: &now,
			},
		}, metav1.CreateOptions{FieldManager: FieldManager})
		return classifyLease(ns, name, err)
	}
	if err != nil {
		return outcome.Externalf("read lease %s/%s: %w", ns, name, err)
	}
	other := ptr.Deref(cur.Spec.HolderIdentity, "")
	if other != "" && other != holder && !expired(cur, l.Now()) {
		since := "an unknown time"
		if cur.Spec.AcquireTime != nil {
			since = cur.Spec.AcquireTime.UTC().Format(time.RFC3339)
		}
		return outcome.Lockedf("environment locked: lease %s/%s is held by %q since %s (expires %s unless renewed); wait for that pipeline, or delete the lease if it is dead",
			ns, name, other, since, expiry(cur).UTC().Format(time.RFC3339))
	}
	next := cur.DeepCopy()
	if other != holder {
		next.Spec.AcquireTime = &now
		next.Spec.LeaseTransitions = ptr.To(ptr.Deref(cur.Spec.LeaseTransitions, 0) + 1)
	}
	next.Spec.HolderIdentity, next.Spec.RenewTime, next.Spec.LeaseDurationSeconds = ptr.To(holder), &now, ptr.To(ttl)
	_, err = leases.Update(ctx, next, metav1.UpdateOptions{FieldManager: FieldManager}) // resourceVersion-guarded
	return classifyLease(ns, name, err)
}

func classifyLease(ns, name string, err error) error {
	switch {
	case err == nil, apierrors.IsConflict(err), apierrors.IsAlreadyExists(err):
		return err
	case apierrors.IsForbidden(err):
		return outcome.Usagef("lease %s/%s: %w (the bluegreen Role needs get, create and update on leases)", ns, name, err)
	}
	return outcome.Externalf("lease %s/%s: %w", ns, name, err)
}

func expiry(l *coordinationv1.Lease) time.Time {
	if l.Spec.RenewTime == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Add(time.Duration(ptr.Deref(l.Spec.LeaseDurationSeconds, 0)) * time.Second)
}

func expired(l *coordinationv1.Lease, now time.Time) bool { return now.After(expiry(l)) }

// renew keeps the lease fresh every third of its TTL until Release.
func (h *Held) renew(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.lock.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := h.lock.tryAcquire(ctx, h.ns, h.name, h.who); err != nil && ctx.Err() == nil {
				h.mu.Lock()
				if h.err == nil {
					h.err = err
				}
				h.mu.Unlock()
			}
		}
	}
}

// Err is the first renewal failure, if any: the lock may have been lost.
func (h *Held) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Release stops renewing and gives the lease up, so that the next pipeline
// need not wait for it to expire.
func (h *Held) Release(ctx context.Context) error {
	h.stop()
	<-h.done
	leases := h.lock.Client.CoordinationV1().Leases(h.ns)
	cur, err := leases.Get(ctx, h.name, metav1.GetOptions{})
	if err != nil || ptr.Deref(cur.Spec.HolderIdentity, "") != h.who {
		return nil // gone, or taken over after expiry: nothing of ours to give up
	}
	next := cur.DeepCopy()
	next.Spec.HolderIdentity = nil
	next.Spec.RenewTime = nil
	if _, err := leases.Update(ctx, next, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("release lease %s/%s: %w", h.ns, h.name, err)
	}
	return nil
}
