package config

import "unicode/utf8"

// fnmatch reports whether name matches the shell wildcard pattern as POSIX
// fnmatch(3) with no flags does: '*' matches any string (including '/'), '?'
// any one character, "[...]" a set ("[!...]" or "[^...]" its complement,
// "a-z" ranges), and a backslash quotes the next character. A malformed
// set matches a literal '['.
func fnmatch(pattern, name string) bool {
	// Iterative matcher with single-star backtracking.
	px, nx := 0, 0
	starP, starN := -1, -1
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starP, starN = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					_, w := utf8.DecodeRuneInString(name[nx:])
					px++
					nx += w
					continue
				}
			case '[':
				if nx < len(name) {
					r, w := utf8.DecodeRuneInString(name[nx:])
					if ok, matched, plen := matchSet(pattern[px:], r); ok {
						if matched {
							px += plen
							nx += w
							continue
						}
					} else if name[nx] == '[' {
						px++
						nx++
						continue
					}
				}
			case '\\':
				lit := byte('\\')
				plen := 1
				if px+1 < len(pattern) {
					lit = pattern[px+1]
					plen = 2
				}
				if nx < len(name) && name[nx] == lit {
					px += plen
					nx++
					continue
				}
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		if starP >= 0 && starN < len(name) {
			_, w := utf8.DecodeRuneInString(name[starN:])
			starN += w
			px, nx = starP+1, starN
			continue
		}
		return false
	}
	return true
}

// matchSet matches r against the set at the start of p ("[...]"). ok is
// false when the set is not closed; plen is the set's length in p.
func matchSet(p string, r rune) (ok, matched bool, plen int) {
	i := 1
	negate := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		negate = true
		i++
	}
	first := true
	for i < len(p) {
		if p[i] == ']' && !first {
			return true, matched != negate, i + 1
		}
		first = false
		lo, w := utf8.DecodeRuneInString(p[i:])
		if lo == '\\' && i+1 < len(p) {
			i++
			lo, w = utf8.DecodeRuneInString(p[i:])
		}
		i += w
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			i++
			hi, w = utf8.DecodeRuneInString(p[i:])
			if hi == '\\' && i+1 < len(p) {
				i++
				hi, w = utf8.DecodeRuneInString(p[i:])
			}
			i += w
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
	return false, false, 0
}
