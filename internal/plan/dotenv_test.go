package plan

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMergeDotenv_KeepsOtherKeysAndWritesOnlyChanges(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), DotenvName)
	if err := MergeDotenv(path, nil, "BG_VERIFY_RESULT"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("removing a key from no file wrote one: %v", err)
	}
	if err := os.WriteFile(path, []byte("# from render\nBG_APP=shop\nBG_VERIFY_RESULT=fail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := MergeDotenv(path, map[string]string{"BG_VERIFY_RESULT": "pass"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "BG_APP=shop\nBG_VERIFY_RESULT=pass\n" {
		t.Errorf("merged:\n%s", got)
	}
	if err := MergeDotenv(path, nil, "BG_VERIFY_RESULT"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "BG_APP=shop\n" {
		t.Errorf("after removing:\n%s", got)
	}
	if err := MergeDotenv(path, map[string]string{"X": "a\nb"}); err == nil {
		t.Error("a value with a line break was written")
	}
}
