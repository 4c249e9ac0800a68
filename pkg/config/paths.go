package config

import (
	"fmt"
	"path"
	"strings"
)

// validatePaths checks that every overlay path is written the one way git
// and kustomize agree on: relative, inside the repository, and clean (no
// "./", "//", trailing "/" or ".." segment), so that two spellings of one
// folder cannot slip past the duplicate check or name a folder nobody meant.
// Paths that leave the repository are reported by validateEnvironments.
func (c *Config) validatePaths(ps *problems) {
	for i, e := range c.Environments {
		p := e.Path
		if p == "" || path.IsAbs(p) || strings.Contains(p, `\`) {
			continue
		}
		clean := path.Clean(p)
		if clean == ".." || strings.HasPrefix(clean, "../") {
			continue
		}
		k := fmt.Sprintf("environments[%d].path", i)
		switch {
		case clean == ".":
			ps.add(k, p, "is the repository root", "name the overlay folder that holds the credentials, e.g. overlays/prod/credentials")
		case hasSegment(p, ".."):
			ps.add(k, p, `has a ".." segment`, "write the folder it means, "+clean)
		case clean != p:
			ps.add(k, p, "is not a clean path", "write it as "+clean)
		case strings.ContainsAny(p, "\x00\n\r\t") || strings.TrimSpace(p) != p:
			ps.add(k, p, "has spaces or control characters at its ends or inside", "write the folder's name as git shows it")
		}
	}
}

func hasSegment(p, seg string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == seg {
			return true
		}
	}
	return false
}
