package forge

import "errors"

// Errors a forge returns when a server's answer is hostile or broken rather
// than merely negative, matched with errors.Is. None of them is worth
// retrying within the run: the server has to be fixed, or the limit raised.
var (
	// ErrResponseTooLarge: a response body was larger than the client's size
	// cap; it was not decoded.
	ErrResponseTooLarge = errors.New("response body too large")
	// ErrTooManyPages: a paginated list went on past the client's page or
	// item cap (an endless rel="next", or a repository with more than the
	// cap allows).
	ErrTooManyPages = errors.New("list too long")
	// ErrRedirectRefused: the server redirected to another origin, or from
	// https to http; credentials are never sent there, and the redirect is
	// not followed.
	ErrRedirectRefused = errors.New("redirect refused")
	// ErrSlowResponse: the server did not finish its answer within the
	// per-request timeout (a stalled or slowly dripping server).
	ErrSlowResponse = errors.New("response too slow")
	// ErrNotOurs: the pull request is not credrotate's (a fork, a deleted
	// fork, or another author's); credrotate does not act on it.
	ErrNotOurs = errors.New("pull request is not credrotate's")
)
