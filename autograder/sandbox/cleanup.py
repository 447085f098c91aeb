"""Removing what a sandbox may have written: any depth, any names, links never followed."""
import os
import secrets
import stat

LEFT = []   # paths that could not be removed, reported once by the batch (`left_behind`)


def remove_tree(path):
    """Delete `path` and everything below it, however deep, without following links.
    Returns True when nothing is left; otherwise the path is noted in LEFT (reported once).

    shutil.rmtree recurses once per level and raises RecursionError (even with ignore_errors)
    on the folders nested thousands deep that student code makes in a second. Here the
    folders below the top one move up to it a level at a time, under random names no planted
    file can take, and each is emptied there. Only for trees no running sandbox can still
    write to; never raises OSError."""
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    except OSError:  # a file, a link or a FIFO
        try:
            os.unlink(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            LEFT.append(str(path))
            return False
    prefix = f".rm-{secrets.token_hex(8)}-"
    moved = 0
    try:
        for _ in range(10_000_000):  # bounded: each round removes at least one entry or fails
            names = os.listdir(top)
            if not names:
                break
            for name in names:
                moved = flatten_one(top, name, prefix, moved)
        os.rmdir(path)
        return True
    except OSError:
        LEFT.append(str(path))
        return False
    finally:
        os.close(top)


def flatten_one(top, name, prefix, moved):
    """Remove top/name if it is not a folder; else move its sub-folders up into top (as
    <prefix><n>), delete its other entries and remove it once empty. Returns the updated n."""
    try:
        folder = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
    except OSError:
        os.unlink(name, dir_fd=top)
        return moved
    try:
        for child in os.listdir(folder):
            if stat.S_ISDIR(os.stat(child, dir_fd=folder, follow_symlinks=False).st_mode):
                moved += 1
                os.rename(child, f"{prefix}{moved}", src_dir_fd=folder, dst_dir_fd=top)
            else:
                os.unlink(child, dir_fd=folder)
    finally:
        os.close(folder)
    os.rmdir(name, dir_fd=top)
    return moved


def left_behind():
    """The paths no removal could delete since the last call (each once), then forgets them."""
    paths = sorted(set(LEFT))
    LEFT.clear()
    return paths
