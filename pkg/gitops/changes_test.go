package gitops

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"slices"
	"testing"
)

// BranchChanges returns what the branch's commit changes against its
// parent, from a depth-1 clone, also once the base has moved on (the parent
// is then not in the clone) and after earlier reads of the branch.
func TestBranchChanges(t *testing.T) {
	t.Parallel()
	r := newRemote(t, baseFiles())
	w := mustClone(t, cloneOpts(r))
	res, err := w.Publish(context.Background(), PublishRequest{Branch: "credrotate/run", Message: "rotate",
		Apply: writeApply(map[string]string{
			"overlays/prod/credentials/a.yaml":      "a on branch\n",
			"overlays/staging/credentials/old.yaml": "changed\n",
			"overlays/prod/credentials/notes.txt":   "not yaml\n",
		})})
	if err != nil || !res.Pushed {
		t.Fatalf("Publish: %+v, %v", res, err)
	}
	want := map[string]string{"overlays/prod/credentials/a.yaml": "a on branch\n", "overlays/staging/credentials/old.yaml": "changed\n"}
	check := func(when string, w *Workspace) {
		t.Helper()
		got, err := w.BranchChanges(context.Background(), "credrotate/run")
		if err != nil {
			t.Fatalf("%s: BranchChanges: %v", when, err)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
			t.Fatalf("%s: changed files %v, want %v", when, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		for p, data := range want {
			if string(got[p]) != data {
				t.Fatalf("%s: %s = %q, want %q", when, p, got[p], data)
			}
		}
	}
	check("the publishing workspace", w)
	// another commit on main: a new clone's base is not the branch's parent
	r.commit("main", "someone else", map[string]string{"overlays/prod/credentials/b.yaml": "b\n", "README.md": "moved\n"})
	fresh := mustClone(t, cloneOpts(r))
	if _, err := fresh.ReadBranchFile(context.Background(), "credrotate/run", "overlays/prod/credentials/a.yaml"); err != nil {
		t.Fatal(err)
	}
	check("a clone of the moved base", fresh)
	check("read again", fresh)

	if _, err := fresh.BranchChanges(context.Background(), "credrotate/nope"); !errors.Is(err, ErrBranchNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing branch: %v", err)
	}
	// the workspace still publishes on its base afterwards
	res, err = fresh.Publish(context.Background(), PublishRequest{Branch: "credrotate/run", Message: "m",
		Apply: writeApply(map[string]string{"overlays/prod/credentials/a.yaml": "again\n"})})
	if err != nil || !res.Pushed || r.rev("credrotate/run^") != r.rev("main") {
		t.Fatalf("Publish after BranchChanges: %+v, %v", res, err)
	}
	got, err := fresh.BranchChanges(context.Background(), "credrotate/run")
	if err != nil || len(got) != 1 || string(got["overlays/prod/credentials/a.yaml"]) != "again\n" {
		t.Fatalf("after the re-publish: %v, %v", got, err)
	}
}
