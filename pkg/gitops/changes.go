package gitops

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/utils/merkletrie"
)

// MaxChangedFileSize caps one file BranchChanges returns: a credrotate
// manifest is a few kilobytes.
const MaxChangedFileSize = 1 << 20

// BranchChanges fetches branch (its tip and the tip's parent) and returns
// the YAML files its tip commit adds or changes against that parent, by
// path, as they are on the branch: what merging the rotation branch's one
// commit changes. A missing branch yields ErrBranchNotFound.
func (w *Workspace) BranchChanges(ctx context.Context, branch string) (map[string][]byte, error) {
	h, err := w.fetchBranchDepth(ctx, branch, 2)
	if err != nil {
		return nil, err
	}
	out, err := CommitChanges(w.repo.Storer, h)
	if err != nil {
		return nil, fmt.Errorf("reading branch %s: %w", branch, err)
	}
	return out, nil
}

// CommitChanges returns the YAML files commit h adds or changes against its
// first parent (every YAML file of a root commit), by path. Files over
// MaxChangedFileSize are an error: no credrotate manifest is that large.
func CommitChanges(st storer.EncodedObjectStorer, h plumbing.Hash) (map[string][]byte, error) {
	c, err := object.GetCommit(st, h)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", short(h), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of commit %s: %w", short(h), err)
	}
	var parent *object.Tree
	if c.NumParents() > 0 {
		pc, err := object.GetCommit(st, c.ParentHashes[0])
		if err != nil {
			return nil, fmt.Errorf("parent %s of commit %s: %w", short(c.ParentHashes[0]), short(h), err)
		}
		if parent, err = pc.Tree(); err != nil {
			return nil, fmt.Errorf("tree of commit %s: %w", short(pc.Hash), err)
		}
	}
	changes, err := object.DiffTree(parent, tree)
	if err != nil {
		return nil, fmt.Errorf("comparing commit %s with its parent: %w", short(h), err)
	}
	out := map[string][]byte{}
	for _, ch := range changes {
		action, err := ch.Action()
		if err != nil {
			return nil, err
		}
		if action == merkletrie.Delete {
			continue
		}
		name := ch.To.Name
		if ext := path.Ext(name); ext != ".yaml" && ext != ".yml" {
			continue
		}
		if ch.To.TreeEntry.Mode != filemode.Regular && ch.To.TreeEntry.Mode != filemode.Executable {
			continue
		}
		blob, err := object.GetBlob(st, ch.To.TreeEntry.Hash)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if blob.Size > MaxChangedFileSize {
			return nil, fmt.Errorf("%s: %d bytes, more than %d", name, blob.Size, MaxChangedFileSize)
		}
		data, err := readBlob(blob)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[strings.TrimPrefix(name, "/")] = data
	}
	return out, nil
}

func readBlob(b *object.Blob) ([]byte, error) {
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, MaxChangedFileSize))
}
