package client

import (
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/proto/relaypb"
)

// Errors a request can fail with, one per relay status; match them with
// errors.Is on the *StatusError a request returns.
var (
	ErrBadRequest      = errors.New("client: bad request")
	ErrUnauthenticated = errors.New("client: authentication failed")
	ErrNotFound        = errors.New("client: not found")
	ErrConflict        = errors.New("client: conflict")
	ErrRateLimited     = errors.New("client: rate limited")
	ErrTooLarge        = errors.New("client: too large")
	ErrQueueFull       = errors.New("client: recipient queue full")
	ErrUnavailable     = errors.New("client: relay unavailable")
)

// StatusError is a request the relay answered with a status other than OK.
type StatusError struct {
	Status relaypb.Status
	Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("client: relay answered %s: %s", e.Status, e.Reason)
}

// Is matches the sentinel of e's status.
func (e *StatusError) Is(target error) bool {
	return statusSentinel(e.Status) == target
}

func statusSentinel(s relaypb.Status) error {
	switch s {
	case relaypb.Status_STATUS_BAD_REQUEST:
		return ErrBadRequest
	case relaypb.Status_STATUS_UNAUTHENTICATED:
		return ErrUnauthenticated
	case relaypb.Status_STATUS_NOT_FOUND:
		return ErrNotFound
	case relaypb.Status_STATUS_CONFLICT:
		return ErrConflict
	case relaypb.Status_STATUS_RATE_LIMITED:
		return ErrRateLimited
	case relaypb.Status_STATUS_TOO_LARGE:
		return ErrTooLarge
	case relaypb.Status_STATUS_QUEUE_FULL:
		return ErrQueueFull
	case relaypb.Status_STATUS_UNAVAILABLE:
		return ErrUnavailable
	}
	return nil
}

// CloseError is the relay's reason for closing the connection.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("client: relay closed the connection: %d %s", e.Code, e.Reason)
}
