"""Parse the handle streams of minidumps with skelsec's `minidump` package (PyPI `minidump`):
what a user of that library runs to get the handle tables of two dumps. For each file: the
header and stream directory, then HandleDataStream (every descriptor with its type and object
name strings and object information) and the HandleOperationListStream header (the package
has no parser for the entries). Prints the handle count and trace record count of each file.

Used by compare/compare.sh: `python3 compare/py_parse_handles.py a.dmp b.dmp`.
"""
import sys

from minidump.constants import MINIDUMP_STREAM_TYPE
from minidump.directory import MINIDUMP_DIRECTORY
from minidump.header import MinidumpHeader
from minidump.streams.HandleDataStream import MinidumpHandleDataStream
from minidump.streams.HandleOperationListStream import MINIDUMP_HANDLE_OPERATION_LIST


def handle_streams(path):
    handles, records = None, None
    with open(path, "rb") as f:
        header = MinidumpHeader.parse(f)
        directories = []
        for i in range(header.NumberOfStreams):
            f.seek(header.StreamDirectoryRva + i * 12)
            entry = MINIDUMP_DIRECTORY.parse(f)
            if entry:
                directories.append(entry)
        for entry in directories:
            if entry.StreamType == MINIDUMP_STREAM_TYPE.HandleDataStream:
                handles = MinidumpHandleDataStream.parse(entry, f).handles
            elif entry.StreamType == MINIDUMP_STREAM_TYPE.HandleOperationListStream:
                f.seek(entry.Location.Rva)
                records = MINIDUMP_HANDLE_OPERATION_LIST.parse(entry, f).NumberOfEntries
    return handles, records


for path in sys.argv[1:]:
    handles, records = handle_streams(path)
    print(path, len(handles or []), records)
