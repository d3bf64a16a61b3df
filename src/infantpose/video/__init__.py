"""Video pipeline: prefetching decoder, tracking inference, temporal filters, privacy, batch.

Submodules are imported on use (``from infantpose.video import filters``) so that importing the
package stays cheap.
"""
