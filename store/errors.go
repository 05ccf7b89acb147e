package store

import (
	"errors"
	"fmt"
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
	// Code is LINSTOR's own code for this refusal (apiconsts, without the
	// error bits) where Problem and Kind do not name it; 0 otherwise.
	Code int
}

func (e *Error) Error() string { return e.Message }

// AsError returns the refusal inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func notFound(kind Kind, format string, args ...any) *Error {
	return &Error{Problem: NotFound, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func exists(kind Kind, format string, args ...any) *Error {
	return &Error{Problem: Exists, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func refuse(problem Problem, kind Kind, message, cause, correction string) *Error {
	return &Error{Problem: problem, Kind: kind, Message: message, Cause: cause, Correction: correction}
}
