/**
 * rsync's built-in CVS ignore list (-C, --cvs-exclude), in rsync's order. Like rsync, it is
 * used with $HOME/.cvsignore, $CVSIGNORE and each directory's .cvsignore.
 */
export const CVS_DEFAULT_IGNORE =
  'RCS SCCS CVS CVS.adm RCSLOG cvslog.* tags TAGS .make.state .nse_depinfo *~ #* .#* ,* _$* *$ ' +
  '*.old *.bak *.BAK *.orig *.rej .del-* *.a *.olb *.o *.obj *.so *.exe *.Z *.elc *.ln core .svn/ .git/ .hg/ .bzr/';
