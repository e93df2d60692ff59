package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzLoad feeds plan.json bytes to Load's decoder. It must never panic,
// every refusal must wrap ErrInvalid, and a plan it accepts must survive
// Save and Load unchanged. The seeds (testdata/fuzz/FuzzLoad) are a valid
// plan and tampered variants of it.
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decode(FileName, data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("a refusal that does not wrap ErrInvalid: %v", err)
			}
			return
		}
		dir := t.TempDir()
		if err := p.Save(dir); err != nil {
			t.Fatalf("Save of a plan Load accepted: %v", err)
		}
		again, err := Load(dir)
		if err != nil {
			t.Fatalf("Load refused the plan it accepted, once saved: %v", err)
		}
		a, errA := json.Marshal(p)
		b, errB := json.Marshal(again)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Fatalf("Save and Load changed the plan:\n%s\n%s\n%v %v", a, b, errA, errB)
		}
	})
}
