/*
 * The file:// file system flowlake's local-mode sessions use: Hadoop's own (checksum files and
 * all), but without a process per file. Built by `make setup` into .cache/jars/flowlake-hadoop.jar;
 * flowlake.session names it as fs.file.impl (FileSystem: Spark's reads and writes), and
 * NioLocalFs, the same for FileContext, as fs.AbstractFileSystem.file.impl (Delta's commits).
 *
 * Without Hadoop's native library (no wheel or jar ships it) RawLocalFileSystem runs `chmod`
 * for every file and directory it creates (Parquet files, their checksums, partition
 * directories) and `readlink` for every path a commit renames: 2,417 processes in a six-month
 * run, about 4 ms each from a JVM of several GB (BENCHMARKS.md, "2026-12-02 15:07"). Here the
 * mode is set through java.nio, and a path that is no symbolic link gets its status without
 * asking `readlink`.
 */
package flowlake.hadoop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

public class NioLocalFileSystem extends LocalFileSystem {

    public NioLocalFileSystem() {
        super(new Raw());
    }

    /** RawLocalFileSystem with permissions and link checks done in this process. */
    public static class Raw extends RawLocalFileSystem {
        @Override
        public void setPermission(Path path, FsPermission permission) throws IOException {
            Files.setPosixFilePermissions(pathToFile(path).toPath(), posix(permission.toShort()));
        }

        @Override
        public FileStatus getFileLinkStatus(Path path) throws IOException {
            if (Files.isSymbolicLink(pathToFile(path).toPath())) {
                return super.getFileLinkStatus(path);
            }
            return getFileStatus(path);  // what Hadoop's returns once `readlink` finds no link
        }
    }

    /** The rwx bits of a mode (0640: owner read and write, group read); the sticky bit, which
     *  java.nio cannot set and Spark never asks for, is left out. */
    static Set<PosixFilePermission> posix(short mode) {
        PosixFilePermission[] order = PosixFilePermission.values();  // OWNER_READ .. OTHERS_EXECUTE
        Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < order.length; i++) {
            if ((mode & (1 << (order.length - 1 - i))) != 0) {
                permissions.add(order[i]);
            }
        }
        return permissions;
    }
}
