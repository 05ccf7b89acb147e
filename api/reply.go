package api

import (
	"fmt"
	"strings"

	"strata/store"
)

// LINSTOR's object masks (bits 22-18 of ret_code) for the objects of the
// object model.
const (
	MaskStorPool    uint64 = 0x140000
	MaskStorPoolDfn uint64 = 0x180000
	MaskNetIf       uint64 = 0x1C0000
	MaskRscConn     uint64 = 0x240000
	MaskNodeConn    uint64 = 0x280000
	MaskVlm         uint64 = 0x2C0000
	MaskVlmDfn      uint64 = 0x300000
	MaskRsc         uint64 = 0x340000
	MaskRscDfn      uint64 = 0x380000
	MaskNode        uint64 = 0x3C0000
	MaskRscGrp      uint64 = 0x440000
	MaskVlmGrp      uint64 = 0x480000
)

// Codes of LINSTOR's failures (apiconsts), without the error bits.
const (
	codeInvalidProp     = 213
	codeInvalidRequest  = 234
	codeInUse           = 997
	codeNotEnoughNodes  = 996
	codeNotFoundStart   = 300
	codeExistsStart     = 500
	codeExhaustedVlmNr  = 800
	codeUnknownError    = 998
	codeInvalidNodeName = 200
	codeInvalidNodeType = 201
	codeInvalidRscName  = 202
	codeInvalidVlmNr    = 205
	codeInvalidVlmSize  = 206
	codeInvalidSPName   = 208
	codeInvalidNetName  = 209
	codeInvalidNetAddr  = 210
	codeInvalidNetPort  = 211
	codeInvalidNetType  = 212
	codeInvalidLayer    = 225
	codeInvalidProvider = 227
	codeInvalidRGName   = 237
)

// kindCodes are, per kind of object, LINSTOR's not-found and
// already-exists codes as offsets from 300 and 500.
var kindCodes = map[store.Kind]struct{ notFound, exists uint64 }{
	store.KindNode:               {0, 0},
	store.KindResourceDefinition: {1, 1},
	store.KindResource:           {2, 2},
	store.KindVolumeDefinition:   {3, 3},
	store.KindVolume:             {4, 4},
	store.KindNetInterface:       {5, 5},
	store.KindNodeConnection:     {6, 6},
	store.KindResourceConnection: {7, 7},
	store.KindStorPoolDefinition: {9, 9},
	store.KindStoragePool:        {10, 10},
	store.KindResourceGroup:      {17, 22},
	store.KindVolumeGroup:        {18, 23},
}

// failure turns a store error into LINSTOR's ApiCallRc error list: a
// refusal gets its LINSTOR code, anything else is an unknown error.
func failure(err error, op, obj uint64, refs map[string]string) error {
	e, ok := store.AsError(err)
	if !ok {
		l := Failure(FailUnknownError, op, obj, "The request failed.", err.Error(), "")
		l[0].ObjRefs = refs
		return l
	}
	kc := kindCodes[e.Kind]
	var code uint64
	switch e.Problem {
	case store.NotFound:
		code = codeNotFoundStart + kc.notFound
	case store.Exists:
		code = codeExistsStart + kc.exists
	case store.InUse:
		code = codeInUse
	case store.Exhausted:
		code = codeExhaustedVlmNr
	default:
		code = codeInvalidRequest
	}
	if e.Code != 0 {
		code = uint64(e.Code)
	}
	l := Failure(code|MaskError, op, obj, e.Message, e.Cause, e.Correction)
	l[0].ObjRefs = refs
	return l
}

// notFoundOnly is the answer of a GET of one missing object: LINSTOR's
// not-found code without operation and object bits.
func notFoundOnly(err error) error {
	if e, ok := store.AsError(err); ok && e.Problem == store.NotFound {
		return missing(e.Kind, "%s", e.Message)
	}
	return failure(err, 0, 0, nil)
}

// missing is notFoundOnly's answer for an object of kind.
func missing(kind store.Kind, format string, args ...any) error {
	return RcList{NewRc((codeNotFoundStart+kindCodes[kind].notFound)|MaskError, 0, 0, fmt.Sprintf(format, args...))}
}

// success is a one-entry answer with LINSTOR's success message shapes.
func success(code, op, obj uint64, message, uuid string, refs map[string]string) *rcOutput {
	rc := NewRc(code, op, obj, message)
	if uuid != "" {
		word := "is"
		if code == Deleted {
			word = "was"
		}
		rc.Details = objectWord(obj) + " UUID " + word + ": " + uuid
		if refs == nil {
			refs = map[string]string{}
		}
		refs["UUID"] = uuid
	}
	rc.ObjRefs = refs
	return &rcOutput{RcList{rc}}
}

func objectWord(obj uint64) string {
	if w, ok := objectWords[obj]; ok {
		return w
	}
	return "Object"
}

// objectWords name the objects of the object masks in success details.
var objectWords = map[uint64]string{
	MaskNode: "Node", MaskNetIf: "NetInterface", MaskStorPool: "Storage pool", MaskStorPoolDfn: "Storage pool definition",
	MaskRscGrp: "Resource group", MaskVlmGrp: "Volume group", MaskRscDfn: "Resource definition", MaskVlmDfn: "Volume definition",
	MaskRsc: "Resource", MaskVlm: "Volume", MaskNodeConn: "Node connection", MaskRscConn: "Resource connection",
}

// invalid is a refusal of bad input, changing nothing.
func invalid(code, op, obj uint64, message, cause, correction string) error {
	return Failure(code|MaskError, op, obj, message, cause, correction)
}

func propsModify(m PropsModify) store.PropsModify {
	return store.PropsModify{OverrideProps: m.OverrideProps, DeleteProps: m.DeleteProps, DeleteNamespaces: m.DeleteNamespaces}
}

// upperEnum checks value against allowed case-insensitively and returns
// the canonical spelling.
func upperEnum(value string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(value, a) {
			return a, true
		}
	}
	return "", false
}

// stateReport is the error an agent reported for an object, naming its
// error report.
func stateReport(obj uint64, message, reportID string) ApiCallRc {
	rc := NewRc(FailUnknownError, 0, obj, message)
	if reportID != "" {
		rc.ErrorReportIDs = []string{reportID}
	}
	return rc
}
