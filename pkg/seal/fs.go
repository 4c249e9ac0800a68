package seal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
)

// ReadFS is the read side of a checkout: relative, slash-separated paths
// below its root. os.DirFS, fstest.MapFS, DirFS and MemFS all satisfy it.
type ReadFS interface {
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
}

// FS is a checkout that manifests are written to. ReadFile must return an
// error matching fs.ErrNotExist for a missing file. The git workspace supplies
// its own implementation; DirFS and MemFS are the ones this package offers.
type FS interface {
	ReadFS
	WriteFile(name string, data []byte, perm fs.FileMode) error
	MkdirAll(name string, perm fs.FileMode) error
}

// ErrPathEscapes is returned for a path that is absolute or leaves the root
// of the checkout.
var ErrPathEscapes = errors.New("path escapes the checkout")

// cleanPath validates name as a path inside the checkout and returns it in
// canonical form.
func cleanPath(name string) (string, error) {
	if name == "" {
		return ".", nil
	}
	if strings.Contains(name, `\`) {
		return "", fmt.Errorf("%q: %w (use forward slashes)", name, ErrPathEscapes)
	}
	if path.IsAbs(name) {
		return "", fmt.Errorf("%q: %w (use a path relative to the repository root)", name, ErrPathEscapes)
	}
	c := path.Clean(name)
	if !fs.ValidPath(c) {
		return "", fmt.Errorf("%q: %w", name, ErrPathEscapes)
	}
	return c, nil
}

// DirFS is an FS rooted at a directory on disk. Every path is resolved
// through os.Root, so neither "..", an absolute path nor a symbolic link can
// reach outside the directory. Files are replaced atomically.
type DirFS struct {
	root *os.Root
}

var _ FS = (*DirFS)(nil)

// OpenDirFS opens the directory dir as an FS. Close it when done.
func OpenDirFS(dir string) (*DirFS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening checkout: %w", err)
	}
	return &DirFS{root: r}, nil
}

// Close releases the directory.
func (d *DirFS) Close() error { return d.root.Close() }

// ReadFile reads a file below the root.
func (d *DirFS) ReadFile(name string) ([]byte, error) {
	c, err := cleanPath(name)
	if err != nil {
		return nil, err
	}
	return d.root.ReadFile(c)
}

// ReadDir lists a directory below the root, sorted by name.
func (d *DirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	c, err := cleanPath(name)
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(d.root.FS(), c)
}

// MkdirAll creates a directory and its parents below the root.
func (d *DirFS) MkdirAll(name string, perm fs.FileMode) error {
	c, err := cleanPath(name)
	if err != nil {
		return err
	}
	return d.root.MkdirAll(c, perm)
}

// WriteFile writes a file below the root through a temporary file and a
// rename, so a reader never sees half a manifest.
func (d *DirFS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	c, err := cleanPath(name)
	if err != nil {
		return err
	}
	if c == "." {
		return fmt.Errorf("%q: not a file name", name)
	}
	tmp := path.Join(path.Dir(c), ".credrotate-"+path.Base(c)+".tmp")
	if err := d.root.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	if err := d.root.Rename(tmp, c); err != nil {
		_ = d.root.Remove(tmp)
		return err
	}
	return nil
}

// MemFS is an in-memory FS, safe for concurrent use. The zero value is an
// empty checkout. It serves tests and previews of what a run would write.
type MemFS struct {
	mu    sync.RWMutex
	files map[string][]byte
	dirs  map[string]bool
}

var _ FS = (*MemFS)(nil)

// ReadFile returns a copy of a file's content.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	c, err := cleanPath(name)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.files[c]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), b...), nil
}

// WriteFile stores a copy of data, creating parent directories.
func (m *MemFS) WriteFile(name string, data []byte, _ fs.FileMode) error {
	c, err := cleanPath(name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[c] || c == "." {
		return &fs.PathError{Op: "write", Path: name, Err: errors.New("is a directory")}
	}
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	m.mkdirAllLocked(path.Dir(c))
	m.files[c] = append([]byte(nil), data...)
	return nil
}

// MkdirAll records a directory and its parents.
func (m *MemFS) MkdirAll(name string, _ fs.FileMode) error {
	c, err := cleanPath(name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mkdirAllLocked(c)
	return nil
}

func (m *MemFS) mkdirAllLocked(c string) {
	if m.dirs == nil {
		m.dirs = map[string]bool{}
	}
	for c != "." && c != "/" && !m.dirs[c] {
		m.dirs[c] = true
		c = path.Dir(c)
	}
}

// ReadDir lists the files and directories directly below name.
func (m *MemFS) ReadDir(name string) ([]fs.DirEntry, error) {
	c, err := cleanPath(name)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if c != "." && !m.dirs[c] {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	seen := map[string]fs.DirEntry{}
	add := func(p string, dir bool) {
		if path.Dir(p) == c {
			seen[path.Base(p)] = memEntry{name: path.Base(p), dir: dir}
		}
	}
	for p := range m.files {
		add(p, false)
	}
	for p := range m.dirs {
		add(p, true)
	}
	out := make([]fs.DirEntry, 0, len(seen))
	for _, e := range seen {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Files returns the paths of all files, sorted.
func (m *MemFS) Files() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.files))
	for p := range m.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

type memEntry struct {
	name string
	dir  bool
}

func (e memEntry) Name() string { return e.name }
func (e memEntry) IsDir() bool  { return e.dir }
func (e memEntry) Type() fs.FileMode {
	if e.dir {
		return fs.ModeDir
	}
	return 0
}
func (e memEntry) Info() (fs.FileInfo, error) {
	return nil, errors.New("memfs: no file info")
}
