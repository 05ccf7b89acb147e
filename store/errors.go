package store

import (
	"errors"
	"fmt"

	"strata/apicall"
)

// Kind names the type of object a request was about.
type Kind int

const (
	KindController Kind = iota
	KindNode
	KindNetInterface
	KindNodeConnection
	KindStorPoolDefinition
	KindStoragePool
	KindResourceGroup
	KindVolumeGroup
	KindResourceDefinition
	KindVolumeDefinition
	KindResource
	KindVolume
	KindResourceConnection
	KindSnapshot
	KindSnapshotVolumeDefinition
	KindKeyValueStore
)

// Problem says what went wrong with a request.
type Problem int

const (
	NotFound  Problem = iota + 1 // a named object does not exist
	Exists                       // the object (or its unique attribute) exists already
	InUse                        // other objects still depend on it
	Invalid                      // the request contradicts the stored state
	Exhausted                    // a number pool (volume numbers, minors, ports, node ids) is used up
)

// Error is a refusal that changes nothing. The API turns it into a
// LINSTOR ApiCallRc with the code that matches Problem and Kind.
type Error struct {
	Problem    Problem
	Kind       Kind
	Message    string
	Cause      string
	Correction string
	// Code is LINSTOR's own code for this refusal (apicall.Fail…) where
	// Problem and Kind do not name it; 0 otherwise.
	Code uint64
}

func (e *Error) Error() string { return e.Message }

// RetCode is LINSTOR's code for the refusal, with the error bits.
func (e *Error) RetCode() uint64 {
	if e.Code != 0 {
		return e.Code | apicall.MaskError
	}
	switch e.Problem {
	case NotFound:
		return apicall.FailNotFound + kindCodes[e.Kind].notFound
	case Exists:
		return apicall.FailExists + kindCodes[e.Kind].exists
	case InUse:
		return apicall.FailInUse
	case Exhausted:
		return apicall.FailPoolExhaustedVlmNr
	}
	return apicall.FailInvldRequest
}

// Explanation is the refusal's cause and correction.
func (e *Error) Explanation() (cause, correction string) { return e.Cause, e.Correction }

// kindCodes are, per kind of object, LINSTOR's not-found and
// already-exists codes as offsets from 300 and 500.
var kindCodes = map[Kind]struct{ notFound, exists uint64 }{
	KindNode:               {0, 0},
	KindResourceDefinition: {1, 1},
	KindResource:           {2, 2},
	KindVolumeDefinition:   {3, 3},
	KindVolume:             {4, 4},
	KindNetInterface:       {5, 5},
	KindNodeConnection:     {6, 6},
	KindResourceConnection: {7, 7},
	// A snapshot names its definition: not found is LINSTOR's
	// FAIL_NOT_FOUND_SNAPSHOT, a duplicate FAIL_EXISTS_SNAPSHOT_DFN.
	KindSnapshot:                 {15, 14},
	KindSnapshotVolumeDefinition: {14, 15},
	KindStorPoolDefinition:       {9, 9},
	KindStoragePool:              {10, 10},
	KindResourceGroup:            {17, 22},
	KindVolumeGroup:              {18, 23},
}

// NotFoundError is the refusal of a request naming a missing object.
func NotFoundError(kind Kind, format string, args ...any) *Error {
	return notFound(kind, format, args...)
}

// AsError returns the refusal inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func notFound(kind Kind, format string, args ...any) *Error {
	return &Error{Problem: NotFound, Kind: kind, Message: fmt.Sprintf(format, clipped(args)...)}
}

func exists(kind Kind, format string, args ...any) *Error {
	return &Error{Problem: Exists, Kind: kind, Message: fmt.Sprintf(format, clipped(args)...)}
}

// clipped shortens the names a refusal quotes: they are the user's input,
// of any length.
func clipped(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			a = apicall.Clip(s)
		}
		out[i] = a
	}
	return out
}

func refuse(problem Problem, kind Kind, message, cause, correction string) *Error {
	return &Error{Problem: problem, Kind: kind, Message: message, Cause: cause, Correction: correction}
}
