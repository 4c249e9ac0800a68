package model

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage/memory"
)

// gitScheme is the URL scheme of the in-process git server: go-git's own
// upload-pack and receive-pack (transport/server) over a bare repository
// in memory, so a clone or push is a function call, not a child process.
const gitScheme = "model"

// repos maps a URL path to its bare repository.
var (
	repos     sync.Map // string -> *memory.Storage
	repoSeq   atomic.Int64
	protoOnce sync.Once
)

type repoLoader struct{}

func (repoLoader) Load(ep *transport.Endpoint) (storer.Storer, error) {
	if st, ok := repos.Load(ep.Path); ok {
		return st.(*memory.Storage), nil
	}
	return nil, transport.ErrRepositoryNotFound
}

func installProtocol() {
	protoOnce.Do(func() { client.InstallProtocol(gitScheme, inproc{server.NewServer(repoLoader{})}) })
}

// inproc is go-git's in-process server, taught shallow fetches: go-git's
// upload-pack refuses them, and credrotate clones at depth 1.
type inproc struct{ transport.Transport }

func (t inproc) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	inner, err := t.Transport.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, err
	}
	st, err := repoLoader{}.Load(ep)
	if err != nil {
		return nil, err
	}
	return &upSession{UploadPackSession: inner, st: st}, nil
}

type upSession struct {
	transport.UploadPackSession
	st storer.Storer
}

func (u *upSession) AdvertisedReferencesContext(ctx context.Context) (*packp.AdvRefs, error) {
	ar, err := u.UploadPackSession.AdvertisedReferencesContext(ctx)
	if err == nil {
		_ = ar.Capabilities.Set(capability.Shallow)
	}
	return ar, err
}

func (u *upSession) AdvertisedReferences() (*packp.AdvRefs, error) {
	return u.AdvertisedReferencesContext(context.Background())
}

// UploadPack answers a shallow fetch (depth N) with the wanted commits and
// their first N-1 generations of parents, their trees and blobs, and marks
// the deepest commits shallow; anything else goes to go-git.
func (u *upSession) UploadPack(ctx context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	d, ok := req.Depth.(packp.DepthCommits)
	if !ok || d < 1 {
		req.Capabilities.Delete(capability.Shallow)
		return u.UploadPackSession.UploadPack(ctx, req)
	}
	seen := map[plumbing.Hash]bool{}
	var objs []plumbing.Hash
	var walk func(h plumbing.Hash) error
	walk = func(h plumbing.Hash) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		objs = append(objs, h)
		t, err := object.GetTree(u.st, h)
		if err != nil {
			return err
		}
		for _, e := range t.Entries {
			if e.Mode == filemode.Dir {
				if err := walk(e.Hash); err != nil {
					return err
				}
			} else if !seen[e.Hash] {
				seen[e.Hash] = true
				objs = append(objs, e.Hash)
			}
		}
		return nil
	}
	var shallows []plumbing.Hash
	var commit func(h plumbing.Hash, depth int) error
	commit = func(h plumbing.Hash, depth int) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		c, err := object.GetCommit(u.st, h)
		if err != nil {
			return err
		}
		objs = append(objs, h)
		if err := walk(c.TreeHash); err != nil {
			return err
		}
		if c.NumParents() == 0 {
			return nil
		}
		if depth == int(d) {
			shallows = append(shallows, h)
			return nil
		}
		for _, p := range c.ParentHashes {
			if err := commit(p, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, want := range req.Wants {
		if err := commit(want, 1); err != nil {
			return nil, err
		}
	}
	pack, err := packFor(u.st, req.Wants, int(d), objs)
	if err != nil {
		return nil, err
	}
	req.Capabilities.Delete(capability.Shallow)
	resp := packp.NewUploadPackResponseWithPackfile(req, io.NopCloser(bytes.NewReader(pack)))
	resp.Shallows = shallows
	return resp, nil
}

// packs caches the depth-1 pack of a set of commits: objects are
// addressed by content, so a pack is the same in every repository that
// holds the commits, and the many scenarios cloned from one starting state
// clone the same commits over and over.
var packs struct {
	sync.Mutex
	m map[string][]byte
}

const maxPacks = 4096

func packFor(st storer.EncodedObjectStorer, wants []plumbing.Hash, depth int, objs []plumbing.Hash) ([]byte, error) {
	var key strings.Builder
	fmt.Fprintf(&key, "%d:", depth)
	for _, w := range wants {
		key.WriteString(w.String())
	}
	packs.Lock()
	p, ok := packs.m[key.String()]
	packs.Unlock()
	if ok {
		return p, nil
	}
	var buf bytes.Buffer
	if _, err := packfile.NewEncoder(&buf, st, false).Encode(objs, 10); err != nil {
		return nil, err
	}
	packs.Lock()
	if packs.m == nil || len(packs.m) >= maxPacks {
		packs.m = map[string][]byte{}
	}
	packs.m[key.String()] = buf.Bytes()
	packs.Unlock()
	return buf.Bytes(), nil
}

// bareRepo is one bare repository served in-process.
type bareRepo struct {
	path string
	st   *memory.Storage
}

func newBareRepo(st *memory.Storage) *bareRepo {
	installProtocol()
	r := &bareRepo{path: fmt.Sprintf("/gitops-%d.git", repoSeq.Add(1)), st: st}
	repos.Store(r.path, st)
	return r
}

// URL is the repository's clone URL.
func (r *bareRepo) URL() string { return gitScheme + "://local" + r.path }

// close forgets the repository.
func (r *bareRepo) close() { repos.Delete(r.path) }

// clone copies the repository: objects are immutable and shared, refs are
// copied.
func (r *bareRepo) clone() *bareRepo {
	st := memory.NewStorage()
	for h, o := range r.st.Objects {
		st.Objects[h] = o
		switch o.Type() {
		case plumbing.CommitObject:
			st.Commits[h] = o
		case plumbing.TreeObject:
			st.Trees[h] = o
		case plumbing.BlobObject:
			st.Blobs[h] = o
		case plumbing.TagObject:
			st.Tags[h] = o
		}
	}
	for n, ref := range r.st.ReferenceStorage {
		st.ReferenceStorage[n] = ref
	}
	return newBareRepo(st)
}

// branch returns the commit a branch points at.
func (r *bareRepo) branch(name string) (plumbing.Hash, bool) {
	ref, err := r.st.Reference(plumbing.NewBranchReferenceName(name))
	if err != nil {
		return plumbing.ZeroHash, false
	}
	return ref.Hash(), true
}

func (r *bareRepo) setBranch(name string, h plumbing.Hash) {
	_ = r.st.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(name), h))
}

// files returns a commit's files: path -> blob hash.
func (r *bareRepo) files(commit plumbing.Hash) (map[string]plumbing.Hash, error) {
	c, err := object.GetCommit(r.st, commit)
	if err != nil {
		return nil, err
	}
	t, err := c.Tree()
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	err = t.Files().ForEach(func(f *object.File) error {
		out[f.Name] = f.Hash
		return nil
	})
	return out, err
}

// read returns a file's content at a commit.
func (r *bareRepo) read(commit plumbing.Hash, name string) ([]byte, bool) {
	c, err := object.GetCommit(r.st, commit)
	if err != nil {
		return nil, false
	}
	f, err := c.File(name)
	if err != nil {
		return nil, false
	}
	s, err := f.Contents()
	if err != nil {
		return nil, false
	}
	return []byte(s), true
}

func (r *bareRepo) blob(data []byte) plumbing.Hash {
	o := r.st.NewEncodedObject()
	o.SetType(plumbing.BlobObject)
	w, _ := o.Writer()
	_, _ = w.Write(data)
	_ = w.Close()
	h, _ := r.st.SetEncodedObject(o)
	return h
}

// writeTree stores the tree of files (path -> blob) and returns its hash.
func (r *bareRepo) writeTree(files map[string]plumbing.Hash) (plumbing.Hash, error) {
	type dir struct {
		files map[string]plumbing.Hash
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{files: map[string]plumbing.Hash{}, dirs: map[string]*dir{}} }
	root := newDir()
	for p, h := range files {
		parts := strings.Split(p, "/")
		d := root
		for _, part := range parts[:len(parts)-1] {
			sub, ok := d.dirs[part]
			if !ok {
				sub = newDir()
				d.dirs[part] = sub
			}
			d = sub
		}
		d.files[parts[len(parts)-1]] = h
	}
	var write func(d *dir) (plumbing.Hash, error)
	write = func(d *dir) (plumbing.Hash, error) {
		var entries []object.TreeEntry
		for name, h := range d.files {
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
		}
		for name, sub := range d.dirs {
			h, err := write(sub)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		// git sorts tree entries by name, a folder as if it ended in "/".
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
		t := &object.Tree{Entries: entries}
		o := r.st.NewEncodedObject()
		if err := t.Encode(o); err != nil {
			return plumbing.ZeroHash, err
		}
		return r.st.SetEncodedObject(o)
	}
	return write(root)
}

// commit stores a commit of files on parents.
func (r *bareRepo) commit(files map[string]plumbing.Hash, msg string, when time.Time, parents ...plumbing.Hash) (plumbing.Hash, error) {
	tree, err := r.writeTree(files)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	sig := object.Signature{Name: "A Person", Email: "person@example.com", When: when}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: parents}
	o := r.st.NewEncodedObject()
	if err := c.Encode(o); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.st.SetEncodedObject(o)
}

// commitOn writes changes (path -> content; nil deletes) on top of branch
// and moves it, as a person's push would.
func (r *bareRepo) commitOn(branch string, changes map[string][]byte, msg string, when time.Time) (plumbing.Hash, error) {
	parent, ok := r.branch(branch)
	files := map[string]plumbing.Hash{}
	var parents []plumbing.Hash
	if ok {
		var err error
		if files, err = r.files(parent); err != nil {
			return plumbing.ZeroHash, err
		}
		parents = append(parents, parent)
	}
	for p, data := range changes {
		if data == nil {
			delete(files, p)
			continue
		}
		files[p] = r.blob(data)
	}
	h, err := r.commit(files, msg, when, parents...)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	r.setBranch(branch, h)
	return h, nil
}

// errConflict is a three-way merge that cannot be made file by file.
var errConflict = fmt.Errorf("merge conflict")

// mergeFiles merges head into base over their merge base, file by file: a
// file changed on one side only takes that side; changed on both sides to
// different contents is a conflict (git would try line by line; credrotate
// rewrites whole manifests, so file level is what matters here).
func (r *bareRepo) mergeFiles(base, head plumbing.Hash) (map[string]plumbing.Hash, error) {
	bc, err := object.GetCommit(r.st, base)
	if err != nil {
		return nil, err
	}
	hc, err := object.GetCommit(r.st, head)
	if err != nil {
		return nil, err
	}
	mbs, err := bc.MergeBase(hc)
	if err != nil {
		return nil, err
	}
	var mb map[string]plumbing.Hash
	if len(mbs) > 0 {
		if mb, err = r.files(mbs[0].Hash); err != nil {
			return nil, err
		}
	}
	ours, err := r.files(base)
	if err != nil {
		return nil, err
	}
	theirs, err := r.files(head)
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	paths := map[string]bool{}
	for _, m := range []map[string]plumbing.Hash{mb, ours, theirs} {
		for p := range m {
			paths[p] = true
		}
	}
	for p := range paths {
		o, oOK := ours[p]
		t, tOK := theirs[p]
		b, bOK := mb[p]
		switch {
		case oOK == tOK && o == t:
			if oOK {
				out[p] = o
			}
		case bOK == tOK && b == t: // only ours changed it
			if oOK {
				out[p] = o
			}
		case bOK == oOK && b == o: // only theirs changed it
			if tOK {
				out[p] = t
			}
		default:
			return nil, fmt.Errorf("%w in %s", errConflict, p)
		}
	}
	return out, nil
}
