/*
 * migrate_store.h — `tocsinctl migrate-store` (migrate_store.c).
 */
#ifndef TOCSIN_CTL_MIGRATE_STORE_H
#define TOCSIN_CTL_MIGRATE_STORE_H

/*
 * argv[0] is "migrate-store"; default_from: incidents.db's path when
 * --from is not given.  RETURN VALUE: the exit status (0, 1, 2).
 */
int ctl_migrate_store(int argc, char *argv[], const char *default_from);

#endif
