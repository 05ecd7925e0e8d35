/* `hsmlog incidents` and `hsmlog report`. */
#include "cmd.h"
int cmd_incidents_placeholder(void);
int cmd_incidents_placeholder(void)
{
    return 0;
}
