import java.io.*;
import java.util.*;
import org.apache.zookeeper.txn.*;
import org.apache.zookeeper.data.*;
import org.apache.zookeeper.server.*;
import org.apache.zookeeper.server.util.SerializeUtils;

public class Apply {
  public static void main(String[] a) throws Exception {
    DataTree t = new DataTree();
    DataInputStream in = new DataInputStream(new BufferedInputStream(new FileInputStream("txns.bin")));
    while (true) {
      int len;
      try { len = in.readInt(); } catch (EOFException e) { break; }
      byte[] b = new byte[len];
      in.readFully(b);
      TxnLogEntry e = SerializeUtils.deserializeTxn(b);
      t.processTxn(e.getHeader(), e.getTxn());
      System.out.println("zxid=" + e.getHeader().getZxid() + " digest=" + t.getTreeDigest() + " nodes=" + t.getNodeCount());
    }
    List<String> lines = new ArrayList<>();
    dump(t, "/", lines);
    Collections.sort(lines);
    for (String l : lines) System.out.println(l);
    System.out.println("ephemerals " + t.getEphemeralsCount());
  }
  static void dump(DataTree t, String path, List<String> lines) throws Exception {
    Stat s = new Stat();
    byte[] d = t.getData(path, s, null);
    List<ACL> acl = t.getACL(path, null);
    lines.add("node " + path + " data=" + (d == null ? "<null>" : new String(d)) + " stat=" + s.getCzxid() + "," + s.getMzxid() + "," + s.getCtime() + "," + s.getMtime() + "," + s.getVersion() + "," + s.getCversion() + "," + s.getAversion() + "," + s.getEphemeralOwner() + "," + s.getDataLength() + "," + s.getNumChildren() + "," + s.getPzxid() + " acl=" + acl.size());
    for (String c : t.getChildren(path, null, null)) dump(t, (path.equals("/") ? "" : path) + "/" + c, lines);
  }
}
