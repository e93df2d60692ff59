package kube

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"gitlab.com/platform/bluegreen/internal/outcome"
	"gitlab.com/platform/bluegreen/internal/plan"
)

// A Get is all LiveColor does, so the fake clientset is enough here; switch
// semantics are tested against the real apiserver.
func TestLiveColor(t *testing.T) {
	t.Parallel()
	svc := func(name string, sel map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Spec: corev1.ServiceSpec{Selector: sel}}
	}
	cs := fake.NewClientset(
		svc("blue-app", map[string]string{"app": "a", ColorLabel: "blue"}),
		svc("green-app", map[string]string{"app": "a", ColorLabel: "green"}),
		svc("plain", map[string]string{"app": "a"}),
		svc("odd", map[string]string{"app": "a", ColorLabel: "red"}),
	)
	s := Services{Client: cs}
	tests := []struct {
		name string
		want plan.Color
		code int
	}{
		{"blue-app", plan.Blue, 0},
		{"green-app", plan.Green, 0},
		{"missing", plan.None, 0},
		{"plain", "", 2},
		{"odd", "", 2},
	}
	for _, tt := range tests {
		got, err := s.LiveColor(context.Background(), "shop", tt.name)
		if got != tt.want || outcome.Code(err) != tt.code {
			t.Errorf("%s: got %q, %v; want %q, exit %d", tt.name, got, err, tt.want, tt.code)
		}
	}
}
